"""Continuous mode: beat queues investigations of new severe cases (and of cases whose evidence changed),
within a budget per run, read as the agent's system identity; its proposals still wait for a person."""

import pytest
from django.core.exceptions import PermissionDenied

from approvals.services import approval_decide
from cases.investigations.identity import agent_identity
from cases.models import AgentAction, Investigation
from cases.services import open_cases_for_decisions
from cases.services.investigations import investigation_run, investigations_continuous
from cases.tests.conftest import stored

pytestmark = pytest.mark.django_db


def run_queued():
    for investigation in Investigation.objects.filter(status="queued"):
        investigation_run(investigation_id=investigation.pk)


def test_severe_cases_are_investigated_within_the_budget_once(case_with, personas):
    severe = [case_with(f"a-{i}", [9500, 9400, 9300]) for i in range(3)]
    case_with("a-low", [40], risk_level="MEDIUM")
    queued = investigations_continuous(budget=2)
    assert len(queued) == 2 and {i.case for i in queued} <= set(severe)
    assert all(i.mode == "continuous" and i.requested_by == agent_identity() for i in queued)
    run_queued()
    assert len(investigations_continuous(budget=5)) == 1  # the third; the MEDIUM case is not for beat
    run_queued()
    assert investigations_continuous(budget=5) == []  # nothing new: nothing queued


def test_new_evidence_brings_a_case_back(case_with, personas, model_version):
    case = case_with("a-1", [9500, 9400, 9300])
    investigations_continuous()
    run_queued()
    assert investigations_continuous() == []
    more = stored(model_version, account_id="a-1", amounts=[9600], minutes_apart=1)
    open_cases_for_decisions(decisions=more, actor="tests")
    again = investigations_continuous()
    assert [i.case_id for i in again] == [case.pk]


def test_the_agent_identity_reads_but_never_decides(case_with, personas):
    case_with("a-1", [9500, 9400, 9300])
    investigations_continuous()
    run_queued()
    proposal = AgentAction.objects.get(action_kind="close_as")
    assert proposal.requested_by == agent_identity() and proposal.is_pending
    with pytest.raises(PermissionDenied):
        approval_decide(approval=proposal, actor=agent_identity(), approve=True)
    assert not agent_identity().has_usable_password()
    approval_decide(approval=proposal, actor=personas["carol"], approve=True)  # a person does
    proposal.refresh_from_db()
    assert proposal.proposal_status in {"accepted", "applied"}


def test_a_run_whose_worker_was_lost_fails_and_no_longer_blocks_its_case(case_with, personas, settings):
    from datetime import timedelta

    from django.utils import timezone

    from cases.services.investigations import investigation_request

    case = case_with("a-1", [9500, 9400, 9300])
    lost = investigation_request(case=case, actor=personas["alice"])
    long_ago = timezone.now() - timedelta(seconds=settings.FINOBS_AGENT_TIMEOUT_S + 120)
    Investigation.objects.filter(pk=lost.pk).update(status="running", started_at=long_ago)
    again = investigation_request(case=case, actor=personas["alice"])
    lost.refresh_from_db()
    assert lost.status == "failed" and "worker was lost" in lost.error
    assert again.status == "queued"
