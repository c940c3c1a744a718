"""Robust amount outliers (median and MAD per account and category, from amount bands, with the category's
prior while the history is thin) and the fan-out to new payees, in training and in serving."""

import math

import numpy as np
import pytest

from scoring.features import (
    CATEGORY_PRIOR_MAD,
    CATEGORY_PRIOR_WEIGHT,
    MAD_TO_STD,
    band_median_mad,
    build_feature_frame,
)
from scoring.history import AMOUNT_BAND_WIDTH, AMOUNT_BANDS, amount_band, band_value, load_history
from scoring.models import AccountValueCount, Rule
from scoring.risk_tables import MCC_TYPICAL_EUR
from scoring.rule_engine import DEFAULT_RULES, evaluate_rules
from scoring.tests.builders import store_history, transaction


def _histogram(values: np.ndarray) -> np.ndarray:
    return np.bincount(amount_band(values), minlength=AMOUNT_BANDS)[None, :].astype(np.float64)


def test_median_and_mad_from_the_bands_match_the_sample():
    rng = np.random.default_rng(5)
    for centre, spread in ((3.0, 0.4), (6.5, 1.2)):
        values = rng.normal(centre, spread, 4000)
        median, mad = band_median_mad(_histogram(values))
        assert median[0] == pytest.approx(np.median(values), abs=AMOUNT_BAND_WIDTH / 4)
        assert mad[0] == pytest.approx(np.median(np.abs(values - np.median(values))), rel=0.1)


def test_a_skewed_history_does_not_move_the_median():
    # Nine payments of about 20 euros and one of 5,000: the mean of the logs moves, the median does not.
    values = np.log1p(np.array([20.0] * 9 + [5000.0]))
    median, mad = band_median_mad(_histogram(values))
    assert median[0] == pytest.approx(np.log1p(20.0), abs=AMOUNT_BAND_WIDTH)
    assert abs(values.mean() - np.log1p(20.0)) > 0.5
    assert mad[0] < AMOUNT_BAND_WIDTH


def test_no_history_and_no_counts():
    median, mad = band_median_mad(np.zeros((2, AMOUNT_BANDS)))
    assert median.tolist() == mad.tolist() == [0.0, 0.0]


def test_without_history_in_the_category_the_prior_decides():
    # A first payment in groceries: compared with the category's typical ticket and its prior spread alone.
    frame = build_feature_frame([transaction(1, amount="400.00", merchant_category="5411")])
    deviation = math.log1p(400) - math.log1p(MCC_TYPICAL_EUR["5411"])
    assert frame.column("amount_vs_category")[0] == pytest.approx(deviation, rel=1e-5)
    assert frame.column("amount_category_zscore")[0] == pytest.approx(
        deviation / (MAD_TO_STD * CATEGORY_PRIOR_MAD), rel=1e-5
    )


def test_a_short_history_is_shrunk_to_the_prior_and_a_long_one_is_not():
    def usual(n: int, amount: str = "3.00"):
        return [
            transaction(i, amount=amount, merchant_category="5411", timestamp=f"2026-11-{1 + i:02d}T08:00:00Z")
            for i in range(n)
        ]

    last = transaction(99, amount="40.00", merchant_category="5411", timestamp="2026-11-29T08:00:00Z")
    own = math.log1p(40) - math.log1p(3)
    short = build_feature_frame([*usual(2), last]).column("amount_vs_category")[-1]
    long = build_feature_frame([*usual(26), last]).column("amount_vs_category")[-1]
    # Two payments of its own against a prior weighted as two: half the gap; 26 of its own: nearly all of it.
    assert short == pytest.approx(own * 2 / (2 + CATEGORY_PRIOR_WEIGHT), abs=AMOUNT_BAND_WIDTH)
    assert long == pytest.approx(own * 26 / (26 + CATEGORY_PRIOR_WEIGHT), abs=AMOUNT_BAND_WIDTH)
    assert long > 1.5 * short


def _usual_then(amount: str, *, skewed: bool = False):
    """Twenty payments of 30-60 euros at the account's usual merchant (three of them 1,200 when skewed),
    then one of `amount` there, card present, at home, at its usual hour."""
    rng = np.random.default_rng(3)
    amounts = [f"{rng.uniform(30, 60):.2f}" for _ in range(20)]
    if skewed:
        amounts[4] = amounts[9] = amounts[14] = "1200.00"
    rows = [
        transaction(i, amount=a, merchant_id="m-usual", timestamp=f"2026-11-{1 + i:02d}T12:00:00Z")
        for i, a in enumerate(amounts)
    ]
    return [*rows, transaction(20, amount=amount, merchant_id="m-usual", timestamp="2026-11-25T12:00:00Z")]


@pytest.mark.parametrize("skewed", [False, True])
def test_an_80x_jump_at_a_usual_merchant_scores_high_whatever_the_model_says(skewed):
    rows = _usual_then("3600.00", skewed=skewed)
    frame = build_feature_frame(rows)
    assert np.exp(frame.column("amount_vs_category")[-1]) > 55  # about 80 x its median of ~45 euros
    if skewed:  # the mean of its log-amounts would have hidden a third of the jump
        earlier = np.log1p([float(t.amount) for t in rows[:-1]])
        assert np.exp(np.log1p(3600) - earlier.mean()) < 55
    assert frame.column("amount_category_zscore")[-1] >= 8
    rules = [Rule(**spec) for spec in DEFAULT_RULES]
    n = len(rows)
    outcome = evaluate_rules(rules, frame, np.array(["LOW"] * n), np.zeros(n, bool))
    assert outcome.risk_levels[-1] == "HIGH" and outcome.flagged[-1]
    assert [hit["rule"] for hit in outcome.hits[-1]] == ["amount-jump-20x"]
    if not skewed:  # (when skewed, the first 1,200 after a run of 45s is a jump of its own)
        assert not outcome.flagged[:-1].any()


def _payments(account: str, payees: list[str], day: int, *, hour: int = 9, amount: str = "400.00", start: int = 0):
    return [
        transaction(start + i, account_id=account, merchant_id=payee, merchant_category="", channel="wire",
                    amount=amount, timestamp=f"2026-11-{day:02d}T{hour:02d}:{i:02d}:00Z")
        for i, payee in enumerate(payees)
    ]  # fmt: skip


def test_new_payees_count_first_payments_only():
    history = _payments("acc-x", ["pay-usual"] * 4, 10, amount="80.00")
    burst = _payments("acc-x", ["pay-usual", "new-1", "new-2", "new-1", "new-3", "new-4"], 12, start=10)
    frame = build_feature_frame([*history, *burst])
    assert frame.column("new_counterparties_24h")[4:].tolist() == [0, 1, 2, 2, 3, 4]
    assert frame.column("counterparties_24h")[4:].tolist() == [1, 2, 3, 3, 4, 5]
    # A new account's first payees are not a fan-out: it has no history yet.
    assert build_feature_frame(burst).column("new_counterparties_24h")[:3].tolist() == [0, 0, 0]
    rules = [Rule(**spec) for spec in DEFAULT_RULES if spec["code"] == "fan-out-24h"]
    n = len(frame.amount)
    outcome = evaluate_rules(rules, frame, np.array(["LOW"] * n), np.zeros(n, bool))
    assert outcome.flagged.tolist() == [False] * 9 + [True]  # the fourth new payee, 400 euros


@pytest.mark.django_db
def test_serving_reads_the_bands_and_first_payments_from_the_database():
    older = [  # more than 24 hours before the batch: in the profile tables only
        *_payments("acc-x", ["pay-usual"] * 3, 10, amount="80.00"),
        *[
            transaction(50 + i, account_id="acc-x", amount=a, merchant_id="m-shop", merchant_category="5411",
                        timestamp=f"2026-11-10T1{i}:00:00Z")
            for i, a in enumerate(["20.00", "22.00", "25.00", "19.00", "5000.00"])
        ],
    ]  # fmt: skip
    recent = _payments("acc-x", ["new-1", "pay-usual", "new-2"], 12, hour=8, start=20)  # within 24 h: raw rows
    batch = [
        *_payments("acc-x", ["new-3", "new-1", "new-4"], 12, hour=14, start=30),
        transaction(40, account_id="acc-x", amount="1800.00", merchant_id="m-shop", merchant_category="5411",
                    timestamp="2026-11-12T15:00:00Z"),
    ]  # fmt: skip
    store_history([*older, *recent])
    bands = AccountValueCount.objects.filter(account_id="acc-x", kind=AccountValueCount.Kind.AMOUNT_BAND)
    assert {(b.value, b.n) for b in bands} >= {(band_value("5411", int(amount_band(np.log1p([5000.0]))[0])), 1)}
    serving = build_feature_frame(batch, load_history(batch))
    training = build_feature_frame([*older, *recent, *batch])
    np.testing.assert_allclose(serving.matrix, training.matrix[-len(batch) :], rtol=1e-5, atol=1e-4)
    assert serving.column("new_counterparties_24h").tolist() == [3, 3, 4, 4]
    assert np.exp(serving.column("amount_vs_category")[-1]) > 50  # its median (~22 euros), not the 5,000


def test_takeover_signs_need_a_rare_country_an_odd_hour_and_a_larger_amount():
    rng = np.random.default_rng(9)
    usual = [
        transaction(i, amount=f"{rng.uniform(30, 60):.2f}", timestamp=f"2026-11-{1 + i:02d}T12:{i:02d}:00Z")
        for i in range(20)
    ]

    def then(**overrides):
        last = {"amount": "400.00", "country": "NG", "channel": "online", "timestamp": "2026-11-25T01:00:00Z"}
        rows = [*usual, transaction(20, merchant_id="m-new", **{**last, **overrides})]
        frame = build_feature_frame(rows)
        rules = [Rule(**spec) for spec in DEFAULT_RULES if spec["code"] == "takeover-signs"]
        return evaluate_rules(rules, frame, np.array(["LOW"] * len(rows)), np.zeros(len(rows), bool))

    taken_over = then()
    assert taken_over.flagged.tolist() == [False] * 20 + [True]
    assert "a country the account used for 0% of its transactions" in taken_over.hits[-1][0]["reason"]
    assert not then(country="DE").flagged[-1]  # at home
    assert not then(timestamp="2026-11-25T13:00:00Z").flagged[-1]  # at its usual hour
    assert not then(amount="45.00").flagged[-1]  # its usual amount
