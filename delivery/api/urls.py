"""Callbacks and deliveries (explicit paths, as the public API names them: actions without a trailing slash),
and the SSE decision stream (an async Django view, not DRF: see delivery/api/streams.py)."""

from django.urls import path

from delivery.api.callbacks import CallbackEndpointViewSet, DeliveryViewSet
from delivery.api.streams import decisions_stream_view

urlpatterns = [
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
    path("stream/decisions", decisions_stream_view, name="stream-decisions"),
]
