from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles_after_migrate(sender, apps=None, **kwargs):
    """Every migrate (and a test flush) leaves the groups with exactly what finobs.roles names.

    Apps add permissions with their own migrations; listing them in finobs/roles.py is enough,
    no roles migration per change.
    """
    from django.apps import apps as live_apps

    from finobs.roles import sync_roles

    sync_roles(apps or live_apps)  # a test database flush sends post_migrate without `apps`


class FinobsConfig(AppConfig):
    """The project itself as an app: it owns the roles."""

    name = "finobs"
    verbose_name = "finobs"

    def ready(self):
        from finobs.telemetry import configure_tracing

        configure_tracing()
        post_migrate.connect(_sync_roles_after_migrate, sender=self, dispatch_uid="finobs-sync-roles")
