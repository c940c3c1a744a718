"""Cases that analysts work, their teams, comments and approvals."""

from cases.models.attachments import Attachment, storage_key
from cases.models.case import (
    PRIORITY_FOR_SEVERITY,
    SEVERITY_ORDER,
    Case,
    CaseCounter,
    CaseEvent,
    CaseTransaction,
    Priority,
    Severity,
)
from cases.models.checklists import ChecklistItem, ChecklistTick, ClosingChecklist
from cases.models.collaboration import Approval, Comment, Mention
from cases.models.investigations import AgentAction, Investigation
from cases.models.reviews import DecisionReview
from cases.models.sar import SarDraft
from cases.models.suppression import SuppressedAlert, SuppressionRule
from cases.models.teams import Availability, CaseGroupObjectPermission, CaseUserObjectPermission, RoutingRule, Team

__all__ = [
    "PRIORITY_FOR_SEVERITY",
    "SEVERITY_ORDER",
    "AgentAction",
    "Approval",
    "Attachment",
    "Availability",
    "Case",
    "CaseCounter",
    "CaseEvent",
    "CaseGroupObjectPermission",
    "CaseTransaction",
    "CaseUserObjectPermission",
    "ChecklistItem",
    "ChecklistTick",
    "ClosingChecklist",
    "Comment",
    "DecisionReview",
    "Investigation",
    "Mention",
    "Priority",
    "RoutingRule",
    "SarDraft",
    "Severity",
    "SuppressedAlert",
    "SuppressionRule",
    "Team",
    "storage_key",
]
