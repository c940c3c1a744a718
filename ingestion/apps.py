from django.apps import AppConfig


class IngestionConfig(AppConfig):
    name = "ingestion"

    def ready(self):
        from ingestion.receivers import on_outbox_event
        from scoring.signals import outbox_event

        outbox_event.connect(on_outbox_event, dispatch_uid="ingestion.outbox_event")
