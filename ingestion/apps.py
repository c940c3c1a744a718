from django.apps import AppConfig


class IngestionConfig(AppConfig):
    name = "ingestion"

    def ready(self):
        from ingestion import schema  # noqa: F401  (registers the OpenAPI auth extension)
