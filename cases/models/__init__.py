"""Cases that analysts work, their teams, comments and approvals."""

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
from cases.models.collaboration import Approval, Comment, Mention
from cases.models.investigations import AgentAction, Investigation
from cases.models.teams import CaseGroupObjectPermission, CaseUserObjectPermission, RoutingRule, Team

__all__ = [
    "PRIORITY_FOR_SEVERITY",
    "SEVERITY_ORDER",
    "AgentAction",
    "Approval",
    "Case",
    "CaseCounter",
    "CaseEvent",
    "CaseGroupObjectPermission",
    "CaseTransaction",
    "CaseUserObjectPermission",
    "Comment",
    "Investigation",
    "Mention",
    "Priority",
    "RoutingRule",
    "Severity",
    "Team",
]
