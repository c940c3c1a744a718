"""Counterparty (fan-in / fan-out) features, robust amount outliers, and the rules built on them."""

import numpy as np
import pytest
from django.db import connection

from scoring.features import build_feature_frame
from scoring.history import load_history
from scoring.models import CounterpartySender, Rule
from scoring.rule_engine import DEFAULT_RULES, evaluate_rules, rule_params
from scoring.tests.builders import store_history, transaction


def _wires_to(payee: str, senders: int, *, hour: int = 10, amount: str = "2500.00", start: int = 0):
    return [
        transaction(
            start + i,
            account_id=f"acc-s{start + i}",
            merchant_id=payee,
            merchant_category="",
            channel="wire",
            amount=amount,
            timestamp=f"2026-11-18T{hour:02d}:{i:02d}:00Z",
        )
        for i in range(senders)
    ]


def _rules(*codes):
    return [Rule(**spec) for spec in DEFAULT_RULES if spec["code"] in codes]


def _outcome(frame, rules):
    n = len(frame.amount)
    return evaluate_rules(rules, frame, np.array(["LOW"] * n), np.zeros(n, bool))


def test_fan_in_counts_distinct_senders_and_first_timers():
    rows = _wires_to("pay-mule", 6)
    # One sender pays twice: still one distinct sender.
    rows.append(transaction(99, account_id="acc-s0", merchant_id="pay-mule", channel="wire", amount="900.00",
                            timestamp="2026-11-18T10:30:00Z"))  # fmt: skip
    frame = build_feature_frame(rows)
    senders = np.expm1(frame.column("counterparty_senders_1h")).round().astype(int).tolist()
    assert senders == [1, 2, 3, 4, 5, 6, 6]
    assert frame.column("counterparty_new_sender_share").tolist()[:6] == [1.0] * 6
    assert frame.column("counterparty_new_sender_share")[6] == pytest.approx(1.0)  # 6 senders, all first-time
    assert np.expm1(frame.column("counterparty_log_inflow_24h")[-1]) == pytest.approx(6 * 2500 + 900, rel=1e-5)


def test_fan_out_counts_distinct_payees_of_an_account():
    rows = [
        transaction(i, account_id="acc-x", merchant_id=f"pay-{i % 4}", channel="wire",
                    timestamp=f"2026-11-18T10:{i:02d}:00Z")
        for i in range(6)
    ]  # fmt: skip
    assert build_feature_frame(rows).column("counterparties_24h").tolist() == [1, 2, 3, 4, 4, 4]


@pytest.mark.django_db
def test_stored_senders_count_in_seven_days_and_are_not_first_timers():
    old = _wires_to("pay-1", 5, hour=9)
    for t in old:  # three days before
        t.occurred_at = t.occurred_at.replace(day=15)
    store_history(old)
    assert CounterpartySender.objects.filter(merchant_id="pay-1").count() == 5
    batch = [transaction(50, account_id="acc-s0", merchant_id="pay-1", channel="wire", amount="2500.00",
                         timestamp="2026-11-18T10:00:00Z"),
             transaction(51, account_id="acc-new", merchant_id="pay-1", channel="wire", amount="2500.00",
                         timestamp="2026-11-18T10:05:00Z")]  # fmt: skip
    history = load_history(batch)
    if connection.vendor == "postgresql":
        # acc-s1..s4 come back as one count (acc-s0 is in the batch, so its row is read).
        assert history.counterparty_senders.folded == {"pay-1": (4, 4)}
        assert history.counterparty_senders.account.tolist() == ["acc-s0"]
    served = build_feature_frame(batch, history)
    assert np.expm1(served.column("counterparty_senders_7d")).round().tolist() == [5, 6]
    assert np.expm1(served.column("counterparty_senders_24h")).round().tolist() == [1, 2]
    # Every sender of the last 7 days paid it for the first time within them: the five stored ones three
    # days ago, acc-new now; acc-s0's second payment is not a first one and adds no sender.
    assert served.column("counterparty_new_sender_share").tolist() == pytest.approx([5 / 5, 6 / 6])
    everything = build_feature_frame(old + batch).matrix[-2:]
    np.testing.assert_allclose(served.matrix, everything, rtol=1e-5, atol=1e-4)


def test_fan_in_rule_flags_the_collection_not_a_busy_shop():
    mule = _wires_to("pay-mule", 9)
    shop = [
        transaction(100 + i, account_id=f"acc-c{i}", merchant_id="shop-1", amount="35.00",
                    timestamp=f"2026-11-18T11:{i:02d}:00Z")
        for i in range(30)
    ]  # fmt: skip
    # A hotel's regulars: twelve guests paying 1,500 euros on the 18th, each of whom stayed there earlier in the
    # month (two a day).
    hotel = [
        transaction(200 + 100 * day + i, account_id=f"acc-h{i}", merchant_id="hotel-1", amount="1500.00",
                    timestamp=f"2026-11-{day:02d}T12:{i:02d}:00Z")
        for i in range(12) for day in (1 + i % 6, 18)
    ]  # fmt: skip
    frame = build_feature_frame(mule + shop + hotel)
    outcome = _outcome(frame, _rules("fan-in-24h"))
    flagged = outcome.flagged.tolist()
    assert flagged[:4] == [False] * 4 and flagged[4:9] == [True] * 5  # from the 5th distinct sender
    assert not any(flagged[9:])
    assert "5 accounts paid this counterparty" in outcome.hits[4][0]["reason"]
    assert "100% of its senders in 7 days for the first time" in outcome.hits[4][0]["reason"]


def test_fan_in_rule_window_is_bounded_by_the_raw_payments():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        rule_params(Rule(kind=Rule.Kind.FAN_IN, params={"window_hours": 48}))


def _history_then(amount: str, *, n: int = 20, merchant: str = "m-usual"):
    rng = np.random.default_rng(3)
    usual = [
        transaction(i, amount=f"{rng.uniform(30, 60):.2f}", merchant_id=merchant,
                    timestamp=f"2026-11-{1 + i:02d}T12:00:00Z")
        for i in range(n)
    ]  # fmt: skip
    return [*usual, transaction(n, amount=amount, merchant_id=merchant, timestamp="2026-11-25T12:00:00Z")]


def test_an_80x_jump_at_a_usual_merchant_is_high_whatever_else():
    frame = build_feature_frame(_history_then("3600.00"))
    assert np.exp(frame.column("amount_vs_category")[-1]) > 60
    assert np.exp(frame.column("amount_vs_max")[-1]) > 40
    outcome = _outcome(frame, _rules("amount-jump-20x"))
    assert outcome.flagged.tolist() == [False] * 20 + [True]
    assert outcome.risk_levels[-1] == "HIGH"


def test_a_thin_history_leans_on_the_category_prior():
    # Two coffees of 3 euros, then 40 euros at a grocery: usual for groceries (typical ticket ~40).
    rows = [
        transaction(1, amount="3.00", merchant_category="5411", timestamp="2026-11-18T08:00:00Z"),
        transaction(2, amount="3.00", merchant_category="5411", timestamp="2026-11-18T09:00:00Z"),
        transaction(3, amount="40.00", merchant_category="5411", timestamp="2026-11-18T10:00:00Z"),
    ]
    own_mean_only = np.log1p(40) - np.log1p(3)
    # Weighted as two of its own payments, the prior takes half the gap (within the width of an amount band).
    assert build_feature_frame(rows).column("amount_vs_category")[-1] < 0.55 * own_mean_only


def test_amounts_are_compared_in_euros():
    yen = build_feature_frame([transaction(1, amount="20000", currency="JPY", country="JP")])
    euro = build_feature_frame([transaction(1, amount="122", currency="EUR")])
    assert yen.column("log_abs_amount_eur")[0] == pytest.approx(euro.column("log_abs_amount_eur")[0], abs=0.01)
    assert not _outcome(yen, _rules("amount-over-20k")).flagged[0]
