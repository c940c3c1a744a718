from django.apps import AppConfig
from django.db.backends.signals import connection_created


class OrganisationsConfig(AppConfig):
    name = "organisations"
    verbose_name = "Organisations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kernel import bulk
        from organisations import row_security, tasks  # noqa: F401  (tasks: the Celery hooks that carry the organisation)

        # The second wall (PostgreSQL row-level security): every statement and every COPY runs with the
        # session's finobs.organisation set from the current organisation.
        connection_created.connect(row_security.install, dispatch_uid="organisations.row_security")
        if row_security.apply_before_copy not in bulk.before_copy:
            bulk.before_copy.append(row_security.apply_before_copy)
