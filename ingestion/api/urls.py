from django.urls import path

from ingestion.api.views import IngestView

urlpatterns = [
    path("transactions/ingest", IngestView.as_view(), name="transactions-ingest"),
]

# Callbacks (issue 4, part A): explicit paths, as the public API names them (actions without a trailing slash).
from ingestion.api.callbacks import CallbackEndpointViewSet, DeliveryViewSet  # noqa: E402

urlpatterns += [
    path("callbacks/", CallbackEndpointViewSet.as_view({"get": "list", "post": "create"}), name="callback-list"),
    path(
        "callbacks/<int:pk>/",
        CallbackEndpointViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="callback-detail",
    ),
    path(
        "callbacks/<int:pk>/rotate-secret",
        CallbackEndpointViewSet.as_view({"post": "rotate_secret"}),
        name="callback-rotate-secret",
    ),
    path("deliveries/", DeliveryViewSet.as_view({"get": "list"}), name="delivery-list"),
    path("deliveries/<int:pk>/", DeliveryViewSet.as_view({"get": "retrieve"}), name="delivery-detail"),
    path("deliveries/<int:pk>/redeliver", DeliveryViewSet.as_view({"post": "redeliver"}), name="delivery-redeliver"),
]

# Part C: live streams (SSE); an async Django view, not DRF (see ingestion/api/streams.py).
from ingestion.api.streams import decisions_stream_view  # noqa: E402

urlpatterns += [
    path("stream/decisions", decisions_stream_view, name="stream-decisions"),
]
