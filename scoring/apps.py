from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"

    def ready(self):
        from approvals.kinds import approval_kind_register
        from scoring.services.calibration import CALIBRATION
        from scoring.services.registry import PROMOTION
        from scoring.services.rule_drafts import RULE_ACTIVATION

        approval_kind_register(PROMOTION)
        approval_kind_register(CALIBRATION)
        approval_kind_register(RULE_ACTIVATION)

        from organisations.signals import organisation_created
        from scoring.receivers import on_organisation_created

        organisation_created.connect(on_organisation_created, dispatch_uid="scoring.on_organisation_created")
