"""Portfolio risk: the selector's figures, and the dashboard card scoped to what each person may see."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from cases.tests.conftest import flagged_decisions
from scoring.models import Decision, Transaction
from scoring.selectors import portfolio_risk

pytestmark = pytest.mark.django_db


def decided(model_version, n: int, *, account_id: str, country: str, flagged: bool, source="acme", hours_ago=0):
    """`n` transactions decided `hours_ago`, flagged or not."""
    decisions = flagged_decisions(model_version, account_id=account_id, n=n, source=source)
    Transaction.objects.filter(pk__in=[d.transaction_id for d in decisions]).update(country=country)
    at = timezone.now() - timedelta(hours=hours_ago)
    level = "HIGH" if flagged else "LOW"
    Decision.objects.filter(pk__in=[d.pk for d in decisions]).update(flagged=flagged, created_at=at, risk_level=level)
    return decisions


def test_totals_groups_accounts_and_trend_over_the_window(model_version):
    decided(model_version, 3, account_id="acc-1", country="DE", flagged=False)
    decided(model_version, 2, account_id="acc-2", country="KP", flagged=True, hours_ago=3)
    decided(model_version, 1, account_id="acc-3", country="KP", flagged=False, source="other")
    decided(model_version, 4, account_id="acc-4", country="FR", flagged=True, hours_ago=24 * 10)  # outside

    now = timezone.now()
    risk = portfolio_risk(since=now - timedelta(days=1), until=now + timedelta(seconds=1), group_by="country")
    assert (risk.transactions, risk.flagged, risk.flagged_share) == (6, 2, 0.3333)
    assert risk.risk_levels == {"LOW": 4, "MEDIUM": 0, "HIGH": 2, "CRITICAL": 0}
    assert [(g.key, g.transactions, g.flagged) for g in risk.groups] == [("KP", 3, 2), ("DE", 3, 0)]
    assert risk.top_accounts[0].key == "acc-2" and risk.top_accounts[0].flagged_share == 1.0
    assert risk.bucket == "hour" and sum(p.transactions for p in risk.trend) == 6
    assert [p.flagged for p in risk.trend if p.flagged] == [2]

    acme = portfolio_risk(since=now - timedelta(days=1), until=now + timedelta(seconds=1), source="acme")
    assert acme.transactions == 5 and acme.group_by == "account"
    month = portfolio_risk(since=now - timedelta(days=30), until=now + timedelta(seconds=1), group_by="channel")
    assert month.transactions == 10 and month.bucket == "day" and month.groups[0].key == "online"
    with pytest.raises(ValueError, match="group_by"):
        portfolio_risk(since=now - timedelta(days=1), group_by="merchant_category")


def test_the_query_count_does_not_grow_with_the_decisions(model_version, django_assert_num_queries):
    now = timezone.now()
    decided(model_version, 30, account_id="acc-1", country="DE", flagged=True)
    with django_assert_num_queries(4):
        portfolio_risk(since=now - timedelta(days=7), group_by="merchant")


def test_the_dashboard_card_shows_each_person_the_transactions_they_may_see(client, personas, open_case):
    cache.clear()
    open_case("a-1", risk_level="HIGH")
    open_case("b-1", risk_level="CRITICAL")
    client.force_login(personas["alice"])  # analyst of team A
    response = client.get("/?risk_days=7&risk_by=account")
    risk = response.context["portfolio"]["risk"]
    assert [g.key for g in risk.groups] == ["a-1"] and risk.flagged == 1
    card = response.content.decode().split('data-testid="portfolio-risk"')[1].split("</section>")[0]
    assert "Portfolio risk, last 7 days by account" in card and "a-1" in card and "b-1" not in card

    client.force_login(personas["carol"])  # compliance sees every case
    risk = client.get("/?risk_days=1&risk_by=country").context["portfolio"]["risk"]
    assert risk.transactions == 2 and [g.key for g in risk.groups] == ["DE"]
    fallback = client.get("/?risk_days=999&risk_by=nonsense").context["portfolio"]
    assert (fallback["days"], fallback["group_by"]) == (7, "account")
