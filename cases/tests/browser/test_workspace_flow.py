"""An analyst's day in the browser: a case arrives live, is investigated, proposed for closure and
approved by compliance (four-eyes), with every step on the timeline and in the audit trail."""

import time

import httpx
import pytest
from django.contrib.auth.models import Group

from audit.models import AuditEvent
from audit.services import audit_verify
from cases.models import Case, CaseEvent, RoutingRule, Team
from cases.tests.browser.conftest import log_in as sign_in
from conftest import suspicious_record, transaction_record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


def person(make_user, role, username):
    user = make_user(role, username)
    user.set_password(PASSWORD)
    user.save()
    return user


def background_cases(base_url, raw_key, carol, alice):
    """Earlier work on the queue: open cases on other accounts, two of them closed (for similar cases)."""
    from approvals.services import approval_decide
    from cases.services import case_close

    records = [
        suspicious_record(100 + i, account_id=f"acc-live-{10 + i}", amount=amount, channel=channel)
        for i, (amount, channel) in enumerate(
            [
                ("98000.00", "online"),
                ("9900.00", "wire"),
                ("45000.00", "online"),
                ("9800.00", "atm"),
                ("76000.00", "wire"),
                ("12500.00", "online"),
            ]
        )
    ]
    body = httpx.post(
        f"{base_url}/api/v1/transactions/ingest", json=records, headers={"X-Webhook-Key": raw_key}, timeout=30
    ).json()
    references = [d["case_reference"] for d in body["decisions"] if d["case_reference"]]
    for reference, outcome in zip(references[:2], ["confirmed_fraud", "false_positive"], strict=True):
        case = case_close(
            case=Case.objects.get(reference=reference), outcome=outcome, rationale="reviewed", actor=alice
        )
        if case.status == "pending_approval":
            approval_decide(approval=case.approvals.get(), actor=carol, approve=True, note="agreed")
    return references


def wait_for_shap_chart(page, timeout_s: float = 20) -> bool:
    """Explanations may be computed after the decision is stored (a task): reload until the chart is drawn."""
    deadline = time.monotonic() + timeout_s
    while True:
        if page.locator("canvas[data-shap-chart][data-drawn]").count() > 0:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(1)
        page.reload()
        page.wait_for_selector("[data-live-status].ok")


def log_in(browser, base_url, username):
    return sign_in(browser, base_url, username, PASSWORD)


def test_case_arrives_live_is_worked_and_closed_with_four_eyes(
    asgi_server, browser, screenshot, champion, make_user, api_key, celery_worker_if_queued
):
    team = Team.objects.create(name="Card fraud", slug="card-fraud")
    RoutingRule.objects.create(name="live accounts", priority=1, team=team, account_prefix="acc-live")
    alice = person(make_user, "analyst", "alice")
    carol = person(make_user, "compliance", "carol")
    team.members.add(alice)
    assert Group.objects.filter(name="analyst", user=alice).exists()
    _, raw_key = api_key
    earlier = background_cases(asgi_server, raw_key, carol, alice)

    analyst = log_in(browser, asgi_server, "alice")
    analyst.wait_for_selector("[data-live-status].ok")  # the worklist's WebSocket is open
    analyst.evaluate("window.__sameDocument = true")
    assert analyst.locator("tr[data-reference]").count() == len(earlier) - 2  # the two closed ones are not listed

    # Transactions are ingested through the API; the new case must appear without a reload.
    response = httpx.post(
        f"{asgi_server}/api/v1/transactions/ingest",
        json=[
            suspicious_record(1, account_id="acc-live-1"),
            suspicious_record(2, account_id="acc-live-1", amount="9950.00", timestamp="2026-11-20T02:40:00Z"),
            transaction_record(3, account_id="acc-live-1", timestamp="2026-11-19T12:00:00Z"),
        ],
        headers={"X-Webhook-Key": raw_key},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    reference = response.json()["decisions"][0]["case_reference"]
    assert reference and reference.startswith("CASE-")
    row = analyst.locator(f'tr[data-reference="{reference}"]')
    row.wait_for()
    assert analyst.evaluate("window.__sameDocument") is True  # arrived live, not by reloading
    screenshot(analyst, "worklist")

    # Open it: evidence, and the SHAP chart for the flagged transaction.
    row.locator("a").first.click()
    analyst.wait_for_url(f"{asgi_server}/cases/{reference}/")
    analyst.wait_for_selector("[data-live-status].ok")
    analyst.wait_for_selector("[data-testid=similar-cases]")
    shap_chart_shown = wait_for_shap_chart(analyst)
    screenshot(analyst, "case")

    # Comment, then propose closure as confirmed fraud.
    analyst.fill("#comment-body", "Card testing pattern confirmed with the cardholder. @carol for approval.")
    analyst.click("form.commentform button[type=submit]")
    analyst.wait_for_selector(".timeline .ev-commented .comment >> text=Card testing pattern confirmed")
    close = analyst.locator("[data-testid=close-form]")
    close.locator("select[name=outcome]").select_option("confirmed_fraud")
    close.locator("textarea[name=rationale]").fill("Cardholder confirmed the payments were not theirs.")
    close.locator("button[type=submit]").click()
    analyst.wait_for_selector("[data-testid=case-status] >> text=Pending approval")
    analyst.evaluate("window.__sameDocument = true")

    # A compliance officer approves from the approvals queue; the analyst's open page updates live.
    compliance = log_in(browser, asgi_server, "carol")
    compliance.goto(f"{asgi_server}/approvals/")
    approval_row = compliance.locator("tr[data-approval]", has_text=reference)
    approval_row.locator("input[name=note]").first.fill("Agreed: confirmed fraud.")
    approval_row.locator("button.primary").click()
    compliance.wait_for_selector(".msg.success")

    analyst.wait_for_selector("[data-testid=case-status] >> text=Closed")
    assert analyst.evaluate("window.__sameDocument") is True
    assert analyst.locator("[data-testid=case-outcome]").inner_text() == "Confirmed fraud"

    # The dashboard draws its charts in the browser and lists the champion on the leaderboard.
    compliance.goto(f"{asgi_server}/")
    compliance.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('open-chart'))")
    assert compliance.locator("[data-testid=leaderboard] tr.champion").count() == 1
    screenshot(compliance, "dashboard")

    case = Case.objects.get(reference=reference)
    assert (case.status, case.outcome) == ("closed", "confirmed_fraud")
    kinds = list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))
    assert kinds == ["opened", "commented", "closure_proposed", "closure_approved", "closed"]
    shown = analyst.locator(".timeline li").evaluate_all("items => items.map(li => li.dataset.kind)")
    assert shown == kinds
    audit = list(AuditEvent.objects.filter(object_id=reference).values_list("action", "actor"))
    assert audit[0][0] == "case.opened"
    assert audit[1:] == [
        ("case.commented", "user:alice"),
        ("case.closure_proposed", "user:alice"),
        ("case.closure_approved", "user:carol"),
        ("case.closed", "user:carol"),
    ]
    approval = case.approvals.get()
    decisions = AuditEvent.objects.filter(object_type="case_closure", object_id=str(approval.pk)).order_by("id")
    assert [(e.action, e.actor) for e in decisions] == [
        ("approval.requested", "user:alice"),
        ("approval.approved", "user:carol"),
    ]
    assert AuditEvent.objects.filter(action="transaction.labelled", actor="user:carol").exists()
    assert audit_verify().ok
    # Explanations come from the scoring work (Decision.explanation); the chart must be on the page.
    assert shap_chart_shown, "the SHAP contribution chart was not shown for the flagged transaction"
