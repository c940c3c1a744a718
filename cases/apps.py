from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"

    def ready(self):
        from approvals.kinds import approval_kind_register
        from cases.receivers import on_decisions_stored
        from cases.services import CLOSURE
        from scoring.signals import decisions_stored

        decisions_stored.connect(on_decisions_stored, dispatch_uid="cases.open_cases_for_decisions")
        approval_kind_register(CLOSURE)
