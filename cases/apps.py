from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"

    def ready(self):
        from cases.receivers import on_decisions_stored
        from scoring.signals import decisions_stored

        decisions_stored.connect(on_decisions_stored, dispatch_uid="cases.open_cases_for_decisions")
