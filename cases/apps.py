from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"

    def ready(self):
        from approvals.kinds import approval_kind_register
        from cases.receivers import on_decisions_stored
        from cases.selectors import transactions_visible_to
        from cases.services import CLOSURE
        from cases.services.proposals import AGENT_ACTION
        from scoring.signals import decisions_stored
        from scoring.visibility import transactions_visibility_register

        decisions_stored.connect(on_decisions_stored, dispatch_uid="cases.open_cases_for_decisions")
        approval_kind_register(CLOSURE)
        approval_kind_register(AGENT_ACTION)
        transactions_visibility_register(transactions_visible_to)
