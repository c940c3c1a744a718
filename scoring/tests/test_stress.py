"""The stress generator: independent of the training generator's distributions, every pattern present."""

from collections import Counter

import numpy as np
import pytest
from django.core.management import call_command

from scoring.generator import generate, records_to_transactions
from scoring.stress import STRESS_PATTERNS, generate_stress


@pytest.fixture(scope="module")
def stressed():
    return generate_stress(n_accounts=300, days=10, seed=5)


def test_same_seed_same_output_and_every_pattern_present(stressed):
    again = generate_stress(n_accounts=300, days=10, seed=5)
    assert again.records == stressed.records
    assert set(stressed.patterns) - {""} == set(STRESS_PATTERNS)
    assert 0.005 < stressed.labels.mean() < 0.03
    records_to_transactions(stressed.records, source="tests")  # the public shape parses


def test_other_currencies_scales_and_merchants_than_training(stressed):
    training = generate(n_accounts=300, days=10, seed=5)
    currencies = Counter(r["currency"] for r in stressed.records)
    assert not {"JPY", "HUF", "INR"}.isdisjoint(currencies)
    assert currencies.most_common(1)[0][0] not in Counter(r["currency"] for r in training.records).most_common(3)
    merchants = {r["merchant_id"] for r in stressed.records}
    assert merchants.isdisjoint({r["merchant_id"] for r in training.records})


def test_mule_fan_in_converges_on_few_counterparties_from_many_accounts(stressed):
    rows = [r for r, p in zip(stressed.records, stressed.patterns, strict=True) if p == "mule_fan_in"]
    senders: dict[str, set] = {}
    for r in rows:
        senders.setdefault(r["merchant_id"], set()).add(r["account_id"])
    assert np.median([len(s) for s in senders.values()]) >= 5


def test_outlier_is_card_present_at_a_usual_merchant(stressed):
    records, patterns = stressed.records, stressed.patterns
    seen = {(r["account_id"], r["merchant_id"]) for r, p in zip(records, patterns, strict=True) if not p}
    outliers = [r for r, p in zip(records, patterns, strict=True) if p == "outlier"]
    assert all(r["channel"] == "card_present" for r in outliers)
    assert np.mean([(r["account_id"], r["merchant_id"]) in seen for r in outliers]) > 0.5


@pytest.mark.django_db
def test_evaluate_model_stress_reports_every_pattern(capsys):
    call_command("evaluate_model", "--stress", "--accounts", "200", "--days", "7", "--seed", "11")
    out = capsys.readouterr().out
    for pattern in STRESS_PATTERNS:
        assert pattern in out
    assert "alert rate" in out and "overall" in out


@pytest.mark.django_db
def test_a_champion_on_another_feature_list_is_replaced_by_the_default_model(champion, capsys):
    from scoring.inference import champion_scorer
    from scoring.models import ModelVersion

    ModelVersion.objects.filter(pk=champion.pk).update(feature_names=champion.feature_names[:-1])
    call_command("install_default_model")
    assert "the default model is champion" in capsys.readouterr().out
    assert champion_scorer().model_version.pk != champion.pk  # served again
    call_command("install_default_model")
    assert "kept" in capsys.readouterr().out
