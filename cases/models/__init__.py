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
from cases.models.teams import Availability, CaseGroupObjectPermission, CaseUserObjectPermission, RoutingRule, Team

__all__ = [
    "PRIORITY_FOR_SEVERITY",
    "SEVERITY_ORDER",
    "Approval",
    "Availability",
    "Case",
    "CaseCounter",
    "CaseEvent",
    "CaseGroupObjectPermission",
    "CaseTransaction",
    "CaseUserObjectPermission",
    "Comment",
    "Mention",
    "Priority",
    "RoutingRule",
    "Severity",
    "Team",
]
