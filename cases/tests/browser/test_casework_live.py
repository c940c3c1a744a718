"""Two people on one case in two browsers: a case opened by hand from the transaction search, the other
person's presence marker, and a mention arriving live in the bell."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cases.models import Case, RoutingRule, Team
from cases.tests.browser.test_workspace_flow import log_in, person
from scoring.models import Decision, Transaction

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manual_case_presence_and_a_live_notification(asgi_server, browser, screenshot, make_user, model_version):
    team = Team.objects.create(name="Card fraud", slug="card-fraud")
    RoutingRule.objects.create(name="card accounts", priority=1, team=team, account_prefix="acc-card")
    alice = person(make_user, "analyst", "alice")
    team.members.add(alice)
    person(make_user, "compliance", "carol")
    now = timezone.now()
    for i in range(4):
        txn = Transaction.objects.create(
            source="branch",
            external_id=f"card-{i}",
            account_id="acc-card-77",
            amount=f"{250 + 900 * i}.00",
            currency="EUR",
            occurred_at=now - timedelta(hours=3 * i),
            merchant_id=f"m-{i}",
            country="DE",
            channel="card_present",
            received_at=now,
        )
        Decision.objects.create(
            transaction=txn,
            model_version=model_version,
            score=0.31 + 0.05 * i,
            risk_level="LOW",
            flagged=False,
            features=[0.1, 0.2, 0.3],
            latency_ms=0.2,
            created_at=now,
        )

    # Carol takes a call about account acc-card-77, finds its transactions and opens a case from two of them.
    carol = log_in(browser, asgi_server, "carol")
    carol.click("[data-testid=search-transactions]")
    carol.fill("input[name=account]", "acc-card-77")
    carol.click("[data-testid=transaction-search] button[type=submit]")
    carol.wait_for_selector("[data-testid=transaction-results] tbody tr:nth-child(4)")
    carol.check("input[aria-label='Pick card-0']")
    carol.check("input[aria-label='Pick card-1']")
    carol.select_option("select[name=origin]", "customer_call")
    carol.select_option("select[name=severity]", "high")
    carol.fill("textarea[name=description]", "Customer called: card stolen at the weekend, two payments not theirs.")
    screenshot(carol, "transaction-search")
    carol.click("[data-testid=manual-case] button[type=submit]")
    carol.wait_for_selector("[data-testid=case-description]")
    case = Case.objects.get(account_id="acc-card-77")
    assert carol.url.endswith(f"/cases/{case.reference}/")
    assert (case.origin, case.team, case.transactions.count()) == ("customer_call", team, 2)
    carol.wait_for_selector("[data-live-status].ok")

    # Alice opens the same case in another browser: each sees the other.
    alice_page = log_in(browser, asgi_server, "alice")
    alice_page.goto(f"{asgi_server}/cases/{case.reference}/")
    alice_page.wait_for_selector("[data-testid=presence]:not([hidden])")
    assert "carol" in alice_page.inner_text("[data-testid=presence]")
    carol.wait_for_selector("[data-testid=presence]:not([hidden])")
    assert "alice" in carol.inner_text("[data-testid=presence]")
    screenshot(carol, "case-presence")
    assert alice_page.inner_text("[data-testid=bell-count]") == "0"

    # Carol mentions Alice: Alice's bell counts it without a reload.
    carol.fill("#comment-body", "@alice the two card-present payments match the call; please check the merchant.")
    carol.click("form.commentform button[type=submit]")
    expect(alice_page.locator("[data-testid=bell-count]")).to_have_text("1")
    alice_page.wait_for_selector("[data-bell-toast]:not([hidden])")
    assert "carol mentioned you" in alice_page.inner_text("[data-bell-toast]")
    screenshot(alice_page, "notification-bell")

    # Alice leaves: Carol's marker goes.
    alice_page.context.close()
    carol.wait_for_selector("[data-testid=presence]", state="hidden")
