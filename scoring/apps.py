from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"

    def ready(self):
        from approvals.kinds import approval_kind_register
        from scoring.services.registry import PROMOTION

        approval_kind_register(PROMOTION)
