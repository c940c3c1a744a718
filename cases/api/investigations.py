"""Investigations over the API: ask for one on a case, read one whole, accept or reject a proposal.

Same services and selectors as the case page; a person's permissions and team scope apply (another
team's investigation or proposal is not found).
"""

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, viewsets
from rest_framework.response import Response

from cases import selectors
from cases.models import AgentAction, Investigation
from cases.services.proposals import agent_action_decide, describe
from kernel.api.permissions import ScopeOrPermission


class AgentActionSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(source="action_kind", read_only=True)
    status = serializers.CharField(
        source="proposal_status", read_only=True, help_text="proposed, accepted, applied, rejected or expired."
    )
    summary = serializers.SerializerMethodField()
    case = serializers.CharField(source="case.reference", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    reason = serializers.CharField(source="decision_note", read_only=True)

    class Meta:
        model = AgentAction
        fields = [
            "id",
            "investigation",
            "case",
            "kind",
            "summary",
            "payload",
            "evidence_ids",
            "rationale",
            "status",
            "requested_at",
            "decided_by",
            "decided_at",
            "reason",
            "applied_at",
            "effect",
        ]
        read_only_fields = fields

    def get_summary(self, obj) -> str:
        return describe(obj)


class InvestigationSerializer(serializers.ModelSerializer):
    case = serializers.CharField(source="case.reference", read_only=True)
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    actions = serializers.SerializerMethodField()

    class Meta:
        model = Investigation
        fields = [
            "id",
            "case",
            "mode",
            "status",
            "requested_by",
            "provider",
            "model",
            "prompt_version",
            "created_at",
            "started_at",
            "finished_at",
            "duration_ms",
            "evidence",
            "findings",
            "recommendation",
            "narrative",
            "dropped_claims",
            "trace",
            "error",
            "actions",
        ]
        read_only_fields = fields

    @extend_schema(responses=AgentActionSerializer(many=True))
    def get_actions(self, obj) -> list[dict]:
        return AgentActionSerializer(self.context.get("actions", []), many=True).data


class InvestigationQueuedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="Why the proposal is rejected (required).")


class AcceptSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class PeopleOnly(viewsets.GenericViewSet):
    """Views for people (no API key scope reaches them); each reads through a selector scoped to the user."""

    permission_classes = [ScopeOrPermission]
    required_scope = None


class InvestigationViewSet(PeopleOnly):
    """GET /api/v1/investigations/{id}: the whole record, with its proposals."""

    required_perms = ("cases.view_investigation",)
    serializer_class = InvestigationSerializer
    queryset = Investigation.objects.none()

    @extend_schema(responses=InvestigationSerializer)
    def retrieve(self, request, pk=None):
        investigation, actions = selectors.investigation_detail(request.user, _int(pk))
        if investigation is None:
            raise exceptions.NotFound("No investigation with this id.")
        return Response(InvestigationSerializer(investigation, context={"actions": actions}).data)


class AgentActionViewSet(PeopleOnly):
    """POST /api/v1/agent-actions/{id}/accept and /reject: a person decides one of the agent's proposals."""

    required_perms = ("cases.decide_agent_action",)
    serializer_class = AgentActionSerializer
    queryset = AgentAction.objects.none()

    @extend_schema(request=AcceptSerializer, responses=AgentActionSerializer)
    def accept(self, request, pk=None):
        return self._decide(request, pk, accept=True, serializer_class=AcceptSerializer)

    @extend_schema(request=RejectSerializer, responses=AgentActionSerializer)
    def reject(self, request, pk=None):
        return self._decide(request, pk, accept=False, serializer_class=RejectSerializer)

    def _decide(self, request, pk, *, accept: bool, serializer_class):
        proposal = selectors.agent_actions_visible_to(request.user).select_related("case").filter(pk=_int(pk)).first()
        if proposal is None:
            raise exceptions.NotFound("No proposal with this id.")
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        decided = agent_action_decide(
            action=proposal, actor=request.user, accept=accept, reason=serializer.validated_data["reason"]
        )
        decided.refresh_from_db()
        return Response(AgentActionSerializer(decided).data)


def _int(pk) -> int:
    try:
        return int(pk)
    except (TypeError, ValueError):
        raise exceptions.NotFound("No such id.") from None
