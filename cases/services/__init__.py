"""Case workflows; the only place that writes cases. Views, API, admin and consumers call these."""

from cases.services.assignment import availability_set, case_auto_assign, cases_auto_assign
from cases.services.closing import CLOSURE, approval_reason, case_close
from cases.services.comments import case_comment, mentions_mark_read
from cases.services.holds import case_legal_hold
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
from cases.services.manual import case_open_manual
from cases.services.opening import decision_severity, open_cases_for_decisions, route_team_id, sla_due_at
from cases.services.proposals import agent_action_decide
from cases.services.sar import sar_draft_update
from cases.services.sla import case_sla_breach, case_sla_warn, sla_sweep

__all__ = [
    "CLOSURE",
    "TRANSITIONS",
    "agent_action_decide",
    "allowed_transitions",
    "approval_reason",
    "availability_set",
    "case_assign",
    "case_assign_many",
    "case_auto_assign",
    "case_close",
    "case_comment",
    "case_escalate",
    "case_legal_hold",
    "case_open_manual",
    "case_share",
    "case_sla_breach",
    "case_sla_warn",
    "case_transition",
    "case_update",
    "cases_auto_assign",
    "decision_severity",
    "investigation_request",
    "investigation_run",
    "investigations_continuous",
    "mentions_mark_read",
    "open_cases_for_decisions",
    "route_team_id",
    "sar_draft_update",
    "sla_due_at",
    "sla_sweep",
]
