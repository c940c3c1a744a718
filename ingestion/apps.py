from django.apps import AppConfig


class IngestionConfig(AppConfig):
    name = "ingestion"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from ingestion import schema  # noqa: F401  (registers the OpenAPI auth extension)
        from ingestion.auth import forget_cached_key
        from ingestion.models import ApiKey
        from ingestion.receivers import on_outbox_event
        from scoring.signals import outbox_event

        outbox_event.connect(on_outbox_event, dispatch_uid="ingestion.outbox_event")
        post_save.connect(forget_cached_key, sender=ApiKey, dispatch_uid="ingestion.forget_cached_key")
        post_delete.connect(forget_cached_key, sender=ApiKey, dispatch_uid="ingestion.forget_cached_key_deleted")
