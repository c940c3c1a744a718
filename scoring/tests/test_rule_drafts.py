"""Drafted rules: the backtest on stored, labelled history, and maker-checker activation from the rules admin."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from scoring.models import Label, Rule, RuleActivation, Transaction
from scoring.services.rule_drafts import rule_backtest

pytestmark = pytest.mark.django_db


def _payments(account, amounts, *, label, start):
    for i, amount in enumerate(amounts):
        Transaction.objects.create(
            source="acme", external_id=f"{account}-{i}", account_id=account, amount=str(amount), currency="EUR",
            occurred_at=start + timedelta(minutes=30 * i), received_at=start, label=label,
        )  # fmt: skip


def test_the_backtest_reports_hits_precision_recall_and_added_alerts():
    start = timezone.now() - timedelta(days=1)
    _payments("structurer", [9500, 9400, 9300], label=Label.FRAUD, start=start)
    _payments("honest", [9100, 9200], label=Label.LEGIT, start=start)
    _payments("quiet", [12, 9900], label=Label.FRAUD, start=start)
    rule = Rule(code="draft", name="d", kind=Rule.Kind.STRUCTURING, action="flag", risk_level="HIGH", params={})
    result = rule_backtest(rule=rule)
    # The second and later in-band payments within 24 h hit: 2 of the structurer's, 1 of the honest account's.
    assert (result["transactions"], result["hits"], result["labelled"], result["fraud"]) == (7, 3, 7, 5)
    assert result["precision"] == round(2 / 3, 4) and result["recall"] == round(2 / 5, 4)
    assert result["added_alerts"] == 3 and result["added_alert_rate"] == round(3 / 7, 5)


def test_drafts_are_backtested_and_handed_to_a_second_person_from_the_admin(client, make_user):
    start = timezone.now() - timedelta(days=1)
    _payments("structurer", [9500, 9400, 9300], label=Label.FRAUD, start=start)
    draft = Rule.objects.create(
        code="draft-structuring", name="d", kind=Rule.Kind.STRUCTURING, action="flag", risk_level="HIGH",
        is_active=False,
    )  # fmt: skip
    maker, checker = make_user("compliance", "maker"), make_user("compliance", "checker")
    for user in (maker, checker):
        user.is_staff = True
        user.save()
    client.force_login(maker)
    rules = reverse("admin:scoring_rule_changelist")
    shown = client.post(rules, {"action": "backtest_selected", "_selected_action": [draft.pk]}, follow=True)
    assert "2 hit(s) in 3 stored transactions" in shown.content.decode()
    client.post(rules, {"action": "request_activation", "_selected_action": [draft.pk]})
    request = RuleActivation.objects.get(rule=draft, status="pending")
    assert request.backtest["hits"] == 2
    activations = reverse("admin:scoring_ruleactivation_changelist")
    client.post(activations, {"action": "approve_selected", "_selected_action": [request.pk]})  # the maker: refused
    draft.refresh_from_db()
    assert not draft.is_active
    client.force_login(checker)
    client.post(activations, {"action": "approve_selected", "_selected_action": [request.pk]})
    draft.refresh_from_db()
    assert draft.is_active
