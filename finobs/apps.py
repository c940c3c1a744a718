from django.apps import AppConfig


class FinobsConfig(AppConfig):
    """The project itself as an app: it owns the roles data migration."""

    name = "finobs"
    verbose_name = "finobs"
