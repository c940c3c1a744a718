"""Callback endpoints and their deliveries: /api/v1/callbacks/ and /api/v1/deliveries/ (the dead-letter queue).

People need the Django permissions of the admin role; an integrator's API key needs the `callbacks`
scope and sees only the endpoints it registered (and their deliveries); another key's are 404.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from delivery import services
from delivery.filtersets import DeliveryFilterSet
from delivery.models import KNOWN_EVENT_TYPES, CallbackEndpoint, Delivery, DeliveryAttempt
from delivery.models.callbacks import EVENT_TYPE_PATTERN
from delivery.selectors import event_data
from kernel.api.permissions import ScopeOrPermission, api_key_of

# --- Shapes ------------------------------------------------------------------------------------


class CallbackEndpointSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(
        child=serializers.RegexField(EVENT_TYPE_PATTERN, max_length=64),
        allow_empty=False,
        min_length=1,
        max_length=50,
        help_text=f'Event types, families ("case.*") or "*". Published today: {", ".join(KNOWN_EVENT_TYPES)}.',
    )
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    breaker_state = serializers.ChoiceField(
        choices=["closed", "open", "half_open"],
        read_only=True,
        help_text="open: sends are postponed until breaker_open_until; half_open: the next send is a trial.",
    )

    class Meta:
        model = CallbackEndpoint
        fields = [
            "id",
            "name",
            "url",
            "event_types",
            "flagged_only",
            "is_active",
            "owner",
            "created_at",
            "breaker_state",
            "consecutive_failures",
            "breaker_open_until",
        ]
        read_only_fields = ["id", "owner", "created_at", "consecutive_failures", "breaker_open_until"]


class CallbackEndpointWithSecretSerializer(CallbackEndpointSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="The signing secret (whsec_…). Shown only now: store it where the receiver runs."
    )

    class Meta(CallbackEndpointSerializer.Meta):
        fields = [*CallbackEndpointSerializer.Meta.fields, "secret"]


class DeliverySerializer(serializers.ModelSerializer):
    endpoint = serializers.PrimaryKeyRelatedField(read_only=True)
    event = serializers.PrimaryKeyRelatedField(read_only=True, help_text="The outbox event id.")

    class Meta:
        model = Delivery
        fields = [
            "id",
            "endpoint",
            "event",
            "event_type",
            "webhook_id",
            "status",
            "attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "delivered_at",
            "created_at",
        ]
        read_only_fields = fields


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["attempted_at", "status_code", "error", "duration_ms"]


class DeliveryDetailSerializer(DeliverySerializer):
    attempt_log = DeliveryAttemptSerializer(many=True, read_only=True)
    data = serializers.SerializerMethodField(help_text="The event's data as sent.")

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "data", "attempt_log"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_data(self, delivery: Delivery) -> dict:
        return event_data(delivery.event)


# --- Views -------------------------------------------------------------------------------------

ENDPOINT_PERMS = {
    "list": ("delivery.view_callbackendpoint",),
    "retrieve": ("delivery.view_callbackendpoint",),
    "create": ("delivery.add_callbackendpoint",),
    "partial_update": ("delivery.change_callbackendpoint",),
    "destroy": ("delivery.delete_callbackendpoint",),
    "rotate_secret": ("delivery.change_callbackendpoint",),
}
DELIVERY_PERMS = {
    "list": ("delivery.view_delivery",),
    "retrieve": ("delivery.view_delivery",),
    "redeliver": ("delivery.view_delivery", "delivery.redeliver_delivery"),
}


def _actor(request):
    return api_key_of(request) or request.user


class CallbackEndpointViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Endpoints that receive signed events (Standard Webhooks)."""

    permission_classes = [ScopeOrPermission]
    required_scope = "callbacks"
    serializer_class = CallbackEndpointSerializer

    @property
    def required_perms(self):
        return ENDPOINT_PERMS.get(self.action, ("delivery.view_callbackendpoint",))

    def get_queryset(self):
        key = api_key_of(self.request)
        endpoints = CallbackEndpoint.objects.select_related("owner").order_by("id")
        return endpoints.filter(api_key=key) if key is not None else endpoints

    @extend_schema(responses={201: CallbackEndpointWithSecretSerializer})
    def create(self, request):
        serializer = CallbackEndpointSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key = api_key_of(request)
        endpoint, secret = services.callback_endpoint_create(
            **serializer.validated_data,
            owner=key.owner if key is not None else request.user,
            api_key=key,
            actor=_actor(request),
        )
        endpoint.secret = secret
        return Response(CallbackEndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        endpoint = self.get_object()
        serializer = CallbackEndpointSerializer(endpoint, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        endpoint = services.callback_endpoint_update(
            endpoint=endpoint, actor=_actor(request), **serializer.validated_data
        )
        return Response(CallbackEndpointSerializer(endpoint).data)

    def perform_destroy(self, instance):
        services.callback_endpoint_delete(endpoint=instance, actor=_actor(self.request))

    @extend_schema(request=None, responses={200: CallbackEndpointWithSecretSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """A new signing secret, shown once; the previous one keeps signing for CALLBACK_SECRET_GRACE_S."""
        endpoint, secret = services.callback_endpoint_rotate_secret(endpoint=self.get_object(), actor=_actor(request))
        endpoint.secret = secret
        return Response(CallbackEndpointWithSecretSerializer(endpoint).data)


class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Each event sent to each endpoint; `?status=dead` is the dead-letter queue."""

    permission_classes = [ScopeOrPermission]
    required_scope = "callbacks"
    filterset_class = DeliveryFilterSet

    @property
    def required_perms(self):
        return DELIVERY_PERMS.get(self.action, ("delivery.view_delivery",))

    def get_serializer_class(self):
        return DeliverySerializer if self.action == "list" else DeliveryDetailSerializer

    def get_queryset(self):
        key = api_key_of(self.request)
        deliveries = Delivery.objects.order_by("-id")
        if self.action != "list":
            deliveries = deliveries.select_related("event").prefetch_related("attempt_log")
        return deliveries.filter(endpoint__api_key=key) if key is not None else deliveries

    @extend_schema(request=None, responses={202: DeliveryDetailSerializer})
    @action(detail=True, methods=["post"])
    def redeliver(self, request, pk=None):
        """Send a dead (or delivered) delivery again: back to pending, attempts reset, same webhook-id."""
        delivery = services.delivery_redeliver(delivery=self.get_object(), actor=_actor(request))
        fresh = self.get_queryset().get(pk=delivery.pk)
        return Response(DeliveryDetailSerializer(fresh).data, status=status.HTTP_202_ACCEPTED)
