"""Case workflows; the only place that writes cases. Views, API, admin and consumers call these."""

from cases.services.closing import CLOSURE, approval_reason, case_close
from cases.services.comments import case_comment, mentions_mark_read
from cases.services.investigations import investigation_request, investigation_run, investigations_continuous
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
from cases.services.proposals import agent_action_decide

__all__ = [
    "CLOSURE",
    "TRANSITIONS",
    "agent_action_decide",
    "allowed_transitions",
    "approval_reason",
    "case_assign",
    "case_assign_many",
    "case_close",
    "case_comment",
    "case_escalate",
    "case_share",
    "case_transition",
    "case_update",
    "decision_severity",
    "investigation_request",
    "investigation_run",
    "investigations_continuous",
    "mentions_mark_read",
    "open_cases_for_decisions",
    "route_team_id",
    "sla_due_at",
]
