import numpy as np
import pytest

from scoring.features import (
    CHANNEL_RISK_DEFAULT,
    COUNTRY_RISK_BLANK,
    COUNTRY_RISK_DEFAULT,
    FEATURE_NAMES,
    MCC_RISK_DEFAULT,
    build_features,
)
from scoring.generator import generate, records_to_transactions
from scoring.tests.builders import transaction


def features_of(**overrides) -> dict[str, float]:
    return dict(zip(FEATURE_NAMES, build_features([transaction(**overrides)])[0].tolist(), strict=True))


@pytest.fixture(scope="module")
def generated_transactions():
    return records_to_transactions(generate(n_accounts=200, days=7, seed=5).records, source="tests")


def test_shape_dtype_and_finite(generated_transactions):
    features = build_features(generated_transactions)
    assert features.shape == (len(generated_transactions), len(FEATURE_NAMES))
    assert features.dtype == np.float32
    assert np.isfinite(features).all()


def test_empty_batch():
    assert build_features([]).shape == (0, len(FEATURE_NAMES))


def test_stateless_columns_do_not_depend_on_the_batch(generated_transactions):
    from scoring.features import STATELESS_FEATURES

    batch = generated_transactions[:300]
    columns = [FEATURE_NAMES.index(n) for n in STATELESS_FEATURES]
    together = build_features(batch)[:, columns]
    alone = np.vstack([build_features([t]) for t in batch])[:, columns]
    assert np.array_equal(together, alone)
    # Behavioural columns are order-independent too: they follow time, not position in the batch.
    assert np.allclose(build_features(batch[::-1])[::-1], build_features(batch))


@pytest.mark.django_db
def test_no_database_access(django_assert_num_queries, generated_transactions):
    with django_assert_num_queries(0):
        build_features(generated_transactions[:100])


def test_amount_features():
    assert features_of(amount="42.50")["log_abs_amount_eur"] == pytest.approx(np.log1p(42.5))
    refund = features_of(amount="-42.50")
    assert refund["is_refund"] == 1 and refund["log_abs_amount_eur"] == pytest.approx(np.log1p(42.5))
    assert features_of(amount="9500.00")["is_near_reporting_threshold"] == 1
    assert features_of(amount="7999.99")["is_near_reporting_threshold"] == 0
    assert features_of(amount="10000.00")["is_near_reporting_threshold"] == 0
    assert features_of(amount="9500.00")["is_round_amount"] == 1
    assert features_of(amount="9500.50")["is_round_amount"] == 0
    assert features_of(amount="250.00")["is_round_amount"] == 0
    assert features_of(amount="0.00")["is_round_amount"] == 0


def test_time_features_are_utc_whatever_the_offset():
    six_utc = features_of(timestamp="2026-11-18T06:00:00Z")
    assert six_utc["hour_sin"] == pytest.approx(1.0, abs=1e-6)
    assert six_utc["hour_cos"] == pytest.approx(0.0, abs=1e-6)
    assert features_of(timestamp="2026-11-18T08:00:00+02:00") == six_utc
    assert six_utc["is_weekend"] == 0
    assert features_of(timestamp="2026-11-21T12:00:00Z")["is_weekend"] == 1  # Saturday
    assert features_of(timestamp="2026-11-22T23:59:00Z")["is_weekend"] == 1  # Sunday
    assert features_of(timestamp="2026-11-23T00:01:00Z")["is_weekend"] == 0  # Monday


def test_risk_encodings():
    assert features_of(channel="card_present")["channel_risk"] < features_of(channel="online")["channel_risk"]
    assert features_of(merchant_category="5411")["mcc_risk"] < features_of(merchant_category="5999")["mcc_risk"]
    assert features_of(merchant_category="5999")["mcc_risk"] < features_of(merchant_category="7995")["mcc_risk"]
    assert features_of(country="DE")["country_risk"] == pytest.approx(COUNTRY_RISK_DEFAULT)
    assert features_of(country="DE")["country_risk"] < features_of(country="VN")["country_risk"]
    assert features_of(country="VN")["country_risk"] < features_of(country="KP")["country_risk"]


def test_unknown_and_blank_values_take_the_documented_defaults():
    blank = features_of(channel="", merchant_category="", country="")
    assert blank["channel_risk"] == pytest.approx(CHANNEL_RISK_DEFAULT)
    assert blank["mcc_risk"] == pytest.approx(MCC_RISK_DEFAULT)
    assert blank["country_risk"] == pytest.approx(COUNTRY_RISK_BLANK)
    assert blank["is_foreign_currency"] == 0
    unknown = features_of(channel="carrier_pigeon", merchant_category="0001", country="ZZ")
    assert unknown["channel_risk"] == pytest.approx(CHANNEL_RISK_DEFAULT)
    assert unknown["mcc_risk"] == pytest.approx(MCC_RISK_DEFAULT)
    assert unknown["country_risk"] == pytest.approx(COUNTRY_RISK_DEFAULT)
    assert unknown["is_foreign_currency"] == 0


def test_values_are_normalised_before_lookup():
    assert features_of(channel=" Online ", country="vn") == features_of(channel="online", country="VN")


def test_foreign_currency():
    assert features_of(country="DE", currency="EUR")["is_foreign_currency"] == 0
    assert features_of(country="DE", currency="USD")["is_foreign_currency"] == 1
    assert features_of(country="GB", currency="GBP")["is_foreign_currency"] == 0
    assert features_of(country="GB", currency="EUR")["is_foreign_currency"] == 1
