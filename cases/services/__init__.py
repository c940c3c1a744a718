"""Case workflows; the only place that writes cases. Views, API, admin and consumers call these."""

from cases.services.closing import CLOSURE, approval_reason, case_close
from cases.services.comments import case_comment, mentions_mark_read
from cases.services.holds import case_legal_hold
from cases.services.lifecycle import (
    TRANSITIONS,
    allowed_transitions,
    case_assign,
    case_assign_many,
    case_escalate,
    case_share,
    case_transition,
    case_update,
)
from cases.services.opening import decision_severity, open_cases_for_decisions, route_team_id, sla_due_at
from cases.services.sar import sar_draft_update

__all__ = [
    "CLOSURE",
    "TRANSITIONS",
    "allowed_transitions",
    "approval_reason",
    "case_assign",
    "case_assign_many",
    "case_close",
    "case_comment",
    "case_escalate",
    "case_legal_hold",
    "case_share",
    "case_transition",
    "case_update",
    "decision_severity",
    "mentions_mark_read",
    "open_cases_for_decisions",
    "route_team_id",
    "sar_draft_update",
    "sla_due_at",
]
