"""GET /api/v1/notifications/, POST /api/v1/notifications/read, GET|PUT /api/v1/notifications/preferences.

A person's own notifications only; API keys have none (they are not people).
"""

from drf_spectacular.utils import extend_schema
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from kernel.api.permissions import ScopeOrPermission
from notifications import selectors, services
from notifications.api.serializers import MarkReadSerializer, NotificationSerializer, PreferenceSerializer
from notifications.models import Notification


class PeopleOnly(ScopeOrPermission):
    """A signed-in person (session or access token); no API key scope reaches these."""


class NotificationListView(ListAPIView):
    """The caller's notifications, newest first; `?unread=true` for the unread ones."""

    permission_classes = [PeopleOnly]
    required_scope = None
    required_perms = ()
    serializer_class = NotificationSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no person
            return Notification.objects.none()
        unread = self.request.query_params.get("unread", "").lower() in {"1", "true", "yes"}
        return selectors.notifications_of(self.request.user, unread_only=unread)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        response.data["unread"] = selectors.unread_count(request.user)
        return response


class NotificationReadView(APIView):
    permission_classes = [PeopleOnly]
    required_scope = None
    required_perms = ()

    @extend_schema(request=MarkReadSerializer, responses={200: {"type": "object"}})
    def post(self, request):
        serializer = MarkReadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changed = services.notifications_mark_read(user=request.user, ids=serializer.validated_data.get("ids"))
        return Response({"marked_read": changed, "unread": selectors.unread_count(request.user)})


class NotificationPreferencesView(APIView):
    permission_classes = [PeopleOnly]
    required_scope = None
    required_perms = ()

    @extend_schema(responses={200: PreferenceSerializer(many=True)})
    def get(self, request):
        return Response([{"kind": k, "email": mode} for k, _label, mode in selectors.preferences_of(request.user)])

    @extend_schema(request=PreferenceSerializer, responses={200: PreferenceSerializer(many=True)})
    def put(self, request):
        serializer = PreferenceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.notification_preference_set(user=request.user, **serializer.validated_data)
        return self.get(request)
