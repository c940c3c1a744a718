from django.urls import path

from ingestion.api.views import IngestView

urlpatterns = [
    path("transactions/ingest", IngestView.as_view(), name="transactions-ingest"),
]

# Part C: live streams (SSE); an async Django view, not DRF (see ingestion/api/streams.py).
from ingestion.api.streams import decisions_stream_view  # noqa: E402

urlpatterns += [
    path("stream/decisions", decisions_stream_view, name="stream-decisions"),
]
