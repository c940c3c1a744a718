"""Cases opened by hand, and the transaction search (page and API) they start from."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from cases.models import Case, CaseEvent
from cases.services import case_open_manual
from cases.tests.conftest import flagged_decisions
from delivery.models import OutboxEvent
from kernel.errors import Conflict
from scoring.models import Transaction

pytestmark = pytest.mark.django_db


def plain_transactions(account_id: str, n: int, *, source: str = "acme"):
    """Stored transactions in no case (nothing flagged them)."""
    now = timezone.now()
    return [
        Transaction.objects.create(
            source=source,
            external_id=f"{account_id}-plain-{i}",
            account_id=account_id,
            amount="120.00",
            currency="EUR",
            occurred_at=now - timedelta(hours=i),
            received_at=now,
        )
        for i in range(n)
    ]


def test_an_analyst_opens_a_case_by_hand_with_transactions(personas):
    found = plain_transactions("a-77", 3)
    case = case_open_manual(
        actor=personas["carol"],
        account_id="a-77",
        description="Customer called: card stolen on Friday",
        severity="high",
        origin="customer_call",
        transaction_ids=[t.pk for t in found[:2]],
    )
    assert (case.origin, case.team.slug, case.assignee, case.severity) == (
        "customer_call",
        "team-a",
        personas["carol"],
        "high",
    )
    assert set(case.transactions.values_list("pk", flat=True)) == {found[0].pk, found[1].pk}
    opened = CaseEvent.objects.get(case=case, kind="opened")
    assert opened.data["manual"] is True and opened.actor == "user:carol"
    assert AuditEvent.objects.filter(action="case.opened", object_id=case.reference, actor="user:carol").exists()
    assert OutboxEvent.objects.filter(event_type="case.opened", payload__reference=case.reference).exists()
    with pytest.raises(Conflict) as again:
        case_open_manual(actor=personas["carol"], account_id="a-77", description="x", severity="low", origin="tip")
    assert again.value.details == {"reference": case.reference}


def test_a_viewer_cannot_open_and_nobody_links_what_they_may_not_see(personas, model_version):
    from django.core.exceptions import PermissionDenied, ValidationError

    with pytest.raises(PermissionDenied):
        case_open_manual(actor=personas["victor"], account_id="a-1", description="x", severity="low", origin="tip")
    # bob (team B) may not see team A's case transactions, nor pick another account's
    (team_a_txn,) = [d.transaction for d in flagged_decisions(model_version, account_id="a-5")]
    from cases.services import open_cases_for_decisions

    open_cases_for_decisions(
        decisions=list(team_a_txn.decision.__class__.objects.filter(pk=team_a_txn.decision.pk)), actor="t"
    )
    with pytest.raises(ValidationError) as refused:
        case_open_manual(
            actor=personas["bob"],
            account_id="a-5",
            description="x",
            severity="low",
            origin="tip",
            transaction_ids=[team_a_txn.pk],
        )
    assert "transaction_ids" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        case_open_manual(actor=personas["bob"], account_id="b-5", description="", severity="loud", origin="flagged")
    assert set(refused.value.message_dict) == {"description", "severity", "origin"}


def test_search_api_pages_with_a_cursor_and_filters(client, personas):
    rows = plain_transactions("a-9", 7)
    client.force_login(personas["carol"])
    first = client.get("/api/v1/transactions/?account=a-9&limit=3").json()
    assert [r["id"] for r in first["results"]] == [t.pk for t in rows[:3]]
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()
    assert [r["id"] for r in second["results"] + third["results"]] == [t.pk for t in rows[3:]]
    assert third["next"] is None
    start = (timezone.now() - timedelta(hours=2, minutes=30)).isoformat()
    ranged = client.get("/api/v1/transactions/", {"account": "a-9", "from": start}).json()
    assert len(ranged["results"]) == 3
    assert client.get("/api/v1/transactions/?account=a-9&flagged=true").json()["results"] == []


def test_search_api_refuses_bad_input_with_the_error_shape(client, personas):
    client.force_login(personas["carol"])
    missing = client.get("/api/v1/transactions/")
    assert missing.status_code == 400 and "account" in missing.json()["details"]
    wide = client.get(
        "/api/v1/transactions/", {"account": "a", "from": "2020-01-01T00:00:00Z", "to": "2024-01-01T00:00:00Z"}
    )
    assert wide.status_code == 400 and "to" in wide.json()["details"]
    assert client.get("/api/v1/transactions/?account=a&cursor=@@@").json()["code"] == "invalid"
    assert client.get("/api/v1/transactions/?account=a&from=yesterday").status_code == 400


def test_search_is_scoped_to_the_teams_cases(client, personas, open_case, make_user):
    a_case = open_case("a-1")
    b_case = open_case("b-1")
    client.force_login(personas["alice"])
    a_rows = client.get("/api/v1/transactions/?account=a-1").json()["results"]
    assert a_rows and all(r["case"] == a_case.reference for r in a_rows)
    assert client.get("/api/v1/transactions/?account=b-1").json()["results"] == []  # team B's case
    client.force_login(personas["carol"])
    assert client.get("/api/v1/transactions/?account=b-1").json()["results"][0]["case"] == b_case.reference
    nobody = make_user(None, "nobody")
    client.force_login(nobody)
    assert client.get("/api/v1/transactions/?account=a-1").status_code == 403


def test_search_by_api_key_sees_its_own_source_only(client, personas, api_key):
    plain_transactions("a-3", 2, source="acme")
    plain_transactions("a-3", 2, source="other")
    _, raw = api_key
    body = client.get("/api/v1/transactions/?account=a-3", headers={"authorization": f"Bearer {raw}"}).json()
    assert len(body["results"]) == 2 and {r["source"] for r in body["results"]} == {"acme"}


def test_manual_case_api(client, personas):
    rows = plain_transactions("a-40", 2)
    client.force_login(personas["alice"])
    created = client.post(
        "/api/v1/cases/",
        {
            "account_id": "a-40",
            "description": "Law-enforcement request LE-2026-17",
            "severity": "critical",
            "origin": "law_enforcement",
            "transaction_ids": [rows[0].pk],
        },
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["origin"] == "law_enforcement" and created.json()["assignee"] == "alice"
    duplicate = client.post(
        "/api/v1/cases/",
        {"account_id": "a-40", "description": "again", "severity": "low", "origin": "tip"},
        content_type="application/json",
    )
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "case_open_for_account"
    client.force_login(personas["victor"])
    refused = client.post(
        "/api/v1/cases/",
        {"account_id": "a-41", "description": "x", "severity": "low", "origin": "tip"},
        content_type="application/json",
    )
    assert refused.status_code == 403
    client.force_login(personas["bob"])
    other_team = client.post(
        "/api/v1/cases/",
        {"account_id": "b-41", "description": "x", "severity": "low", "origin": "tip", "team": "team-a"},
        content_type="application/json",
    )
    assert other_team.status_code == 400 and "team" in other_team.json()["details"]


def test_search_page_and_opening_from_it(client, personas):
    rows = plain_transactions("a-50", 2)
    client.force_login(personas["carol"])
    page = client.get("/transactions/?account=a-50").content.decode()
    assert 'data-testid="transaction-results"' in page and rows[0].external_id in page
    response = client.post(
        "/cases/new",
        {
            "account_id": "a-50",
            "description": "Tip from branch staff",
            "severity": "medium",
            "origin": "tip",
            "transaction": [str(rows[1].pk)],
            "assign_to_self": "on",
        },
    )
    case = Case.objects.get(account_id="a-50")
    assert response["Location"] == f"/cases/{case.reference}/"
    assert list(case.transactions.all()) == [rows[1]]
    page = client.get("/transactions/?account=a-50").content.decode()
    assert f'href="/cases/{case.reference}/"' in page
    bad = client.post(
        "/cases/new", {"account_id": "a-51", "description": "", "severity": "medium", "origin": "tip"}, follow=True
    )
    assert "Say why the case is opened" in bad.content.decode()
    client.force_login(personas["victor"])
    assert client.post("/cases/new", {"account_id": "a-52"}).status_code == 403
