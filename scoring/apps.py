from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"

    def ready(self):
        from scoring.receivers import explain_flagged_after_commit
        from scoring.signals import decisions_stored

        decisions_stored.connect(explain_flagged_after_commit, dispatch_uid="scoring.explain_flagged")
