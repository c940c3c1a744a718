"""Personas and case builders for cases' tests.

Team A (accounts "a-…") has analyst alice and viewer victor; team B (accounts "b-…") has analyst bob;
carol is a compliance officer (sees every team), dave a second compliance officer.
"""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from cases.models import Case, RoutingRule, Team
from cases.services import open_cases_for_decisions
from scoring.models import Decision, ModelVersion, Transaction

_counter = itertools.count(1)


@pytest.fixture
def model_version(db):
    """A registered model version row (its artifact is never run by these tests)."""
    return ModelVersion.objects.create(
        version=1,
        status=ModelVersion.Status.CHAMPION,
        algorithm="isolation_forest",
        artifact=b"",
        artifact_sha256="0" * 64,
        feature_names=["f1", "f2", "f3"],
        score_reference={},
        thresholds={"MEDIUM": 0.5, "HIGH": 0.8, "CRITICAL": 0.95},
        metrics={"holdout": {"precision": 0.61, "recall": 0.74, "f1": 0.67, "pr_auc": 0.58, "alert_rate": 0.02}},
    )


@pytest.fixture
def teams(db):
    team_a = Team.objects.create(name="Team A", slug="team-a")
    team_b = Team.objects.create(name="Team B", slug="team-b")
    RoutingRule.objects.create(name="A accounts", priority=10, team=team_a, account_prefix="a-")
    RoutingRule.objects.create(name="B accounts", priority=20, team=team_b, account_prefix="b-")
    return team_a, team_b


@pytest.fixture
def personas(make_user, teams):
    team_a, team_b = teams
    people = {
        "alice": make_user("analyst", "alice"),
        "bob": make_user("analyst", "bob"),
        "victor": make_user("viewer", "victor"),
        "carol": make_user("compliance", "carol"),
        "dave": make_user("compliance", "dave"),
    }
    team_a.members.add(people["alice"], people["victor"])
    team_b.members.add(people["bob"])
    return people


def flagged_decisions(
    model_version,
    *,
    account_id: str,
    n: int = 1,
    risk_level: str = "HIGH",
    rule_hits=None,
    features=None,
    source: str = "acme",
    occurred_at=None,
):
    """Stored transactions with flagged decisions, as the ingest pipeline leaves them."""
    now = timezone.now()
    decisions = []
    for i in range(n):
        k = next(_counter)
        txn = Transaction.objects.create(
            source=source,
            external_id=f"tx-{k}",
            account_id=account_id,
            amount="9500.00",
            currency="EUR",
            occurred_at=(occurred_at or now) - timedelta(minutes=i),
            merchant_id=f"m-{k}",
            merchant_category="6051",
            country="DE",
            channel="online",
            received_at=now,
        )
        decisions.append(
            Decision.objects.create(
                transaction=txn,
                model_version=model_version,
                score=0.9,
                risk_level=risk_level,
                flagged=True,
                rule_hits=rule_hits or [],
                features=features if features is not None else [float(k % 7), 1.0, 0.5],
                latency_ms=0.1,
                created_at=now,
            )
        )
    return decisions


@pytest.fixture
def open_case(model_version, teams):
    """open_case("a-1", risk_level="HIGH") -> the case the real opening service makes for that account."""

    def make(account_id: str, **kwargs) -> Case:
        decisions = flagged_decisions(model_version, account_id=account_id, **kwargs)
        open_cases_for_decisions(decisions=decisions, actor="tests")
        return Case.objects.open().get(account_id=account_id)

    return make


def stored(
    model_version,
    *,
    account_id,
    amounts,
    merchant="m-shop",
    country="DE",
    channel="online",
    flagged=True,
    risk_level="HIGH",
    rule_hits=None,
    minutes_apart=30,
    device=None,
):
    """Stored transactions with decisions (as the ingest pipeline leaves them), newest last."""
    now = timezone.now()
    decisions = []
    for i, amount in enumerate(amounts):
        k = next(_counter)
        txn = Transaction.objects.create(
            source="acme",
            external_id=f"inv-{k}",
            account_id=account_id,
            amount=str(amount),
            currency="EUR",
            occurred_at=now - timedelta(minutes=minutes_apart * (len(amounts) - i)),
            merchant_id=merchant,
            merchant_category="5411",
            country=country,
            channel=channel,
            received_at=now,
            metadata={"device_id": device} if device else {},
        )
        decisions.append(
            Decision.objects.create(
                transaction=txn,
                model_version=model_version,
                score=0.9 if flagged else 0.1,
                risk_level=risk_level,
                flagged=flagged,
                rule_hits=rule_hits or [],
                features=[float(k % 7), 1.0, 0.5],
                latency_ms=0.1,
                created_at=now,
            )
        )
    return decisions


@pytest.fixture
def case_with(model_version, teams):
    """case_with("a-1", [9500, 9400]) -> the case opened for those stored transactions (flagged ones)."""

    def make(account_id, amounts, **kwargs):
        decisions = stored(model_version, account_id=account_id, amounts=amounts, **kwargs)
        open_cases_for_decisions(decisions=[d for d in decisions if d.flagged], actor="tests")
        return Case.objects.open().get(account_id=account_id)

    return make


def investigated(case, actor, **kwargs):
    """An on-demand investigation of `case` asked by `actor`, run to its end (in-process, or here)."""
    from cases.models import Investigation
    from cases.services.investigations import investigation_request, investigation_run

    investigation = investigation_request(case=case, actor=actor)
    investigation.refresh_from_db()
    if investigation.status == Investigation.Status.QUEUED:  # the task did not run in-process
        investigation_run(investigation_id=investigation.pk, **kwargs)
    investigation.refresh_from_db()
    return investigation
