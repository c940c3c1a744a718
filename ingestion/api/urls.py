from django.urls import path

from ingestion.api.views import IngestView

urlpatterns = [
    path("transactions/ingest", IngestView.as_view(), name="transactions-ingest"),
]
