import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from scoring.generator import CHANNELS, PATTERNS, generate, records_to_transactions
from scoring.models import Transaction

PUBLIC_KEYS = {
    "external_id",
    "account_id",
    "amount",
    "currency",
    "timestamp",
    "merchant_id",
    "merchant_category",
    "country",
    "channel",
    "metadata",
}


@pytest.fixture(scope="module")
def generated():
    return generate(n_accounts=400, days=14, seed=21)


def test_same_seed_gives_identical_output():
    first = generate(n_accounts=120, days=5, seed=3)
    second = generate(n_accounts=120, days=5, seed=3)
    assert first.records == second.records
    assert np.array_equal(first.labels, second.labels)
    assert first.patterns == second.patterns


def test_another_seed_gives_other_traffic():
    first = generate(n_accounts=120, days=5, seed=3)
    other = generate(n_accounts=120, days=5, seed=4)
    assert [r["amount"] for r in first.records[:50]] != [r["amount"] for r in other.records[:50]]
    assert not {r["external_id"] for r in first.records} & {r["external_id"] for r in other.records}


def test_fraud_rate_and_every_pattern_injected(generated):
    assert generated.labels.dtype == bool
    assert generated.labels.mean() == pytest.approx(0.015, rel=0.1)
    counts = Counter(p for p in generated.patterns if p)
    assert set(counts) == set(PATTERNS)
    assert all(count >= 5 for count in counts.values())
    assert [bool(p) for p in generated.patterns] == generated.labels.tolist()


def test_fraud_rate_is_a_parameter():
    assert not generate(n_accounts=100, days=5, seed=1, fraud_rate=0).labels.any()
    assert generate(n_accounts=300, days=10, seed=1, fraud_rate=0.05).labels.mean() == pytest.approx(0.05, rel=0.1)


def test_records_have_the_public_shape(generated):
    records = generated.records
    assert all(set(r) == PUBLIC_KEYS for r in records)
    assert len({r["external_id"] for r in records}) == len(records)
    assert all(re.fullmatch(r"-?\d+\.\d\d", r["amount"]) for r in records)
    assert any(r["amount"].startswith("-") for r in records), "a few refunds"
    assert all(r["channel"] in CHANNELS for r in records)
    assert all(re.fullmatch(r"[A-Z]{2}", r["country"]) for r in records)
    assert all(re.fullmatch(r"[A-Z]{3}", r["currency"]) for r in records)
    assert all(isinstance(r["metadata"], dict) for r in records)
    # Card payments carry a 4-digit MCC; wires and ACH go to a payee and have none.
    for r in records:
        if r["channel"] in {"wire", "ach"}:
            assert r["merchant_category"] == ""
        else:
            assert re.fullmatch(r"\d{4}", r["merchant_category"])
    currencies = Counter(r["currency"] for r in records)
    assert sum(currencies[c] for c in ("EUR", "USD", "GBP")) / len(records) > 0.95


def test_records_are_sorted_by_timestamp_within_the_window(generated):
    times = [datetime.fromisoformat(r["timestamp"]) for r in generated.records]
    assert all(t.utcoffset() == timedelta(0) for t in times)
    assert times == sorted(times)
    start = datetime(2025, 1, 6, tzinfo=UTC)
    assert start <= times[0] and times[-1] < start + timedelta(days=14)
    assert {r["timestamp"][-1] for r in generated.records} == {"Z", "0"}, "both 'Z' and '+00:00' notations"


def test_start_moves_the_window():
    start = datetime(2026, 3, 2, tzinfo=UTC)
    records = generate(n_accounts=50, days=3, seed=2, start=start).records
    times = [datetime.fromisoformat(r["timestamp"]) for r in records]
    assert start <= min(times) and max(times) < start + timedelta(days=3)


def test_patterns_look_like_their_description(generated):
    by_pattern = {
        p: [r for r, q in zip(generated.records, generated.patterns, strict=True) if q == p] for p in PATTERNS
    }

    card_testing = by_pattern["card_testing"]
    assert all(r["channel"] == "online" and Decimal(r["amount"]) < 5 for r in card_testing)

    structuring = by_pattern["structuring"]
    assert all(r["channel"] in {"wire", "ach"} and 8_000 <= Decimal(r["amount"]) < 10_000 for r in structuring)
    per_account_day = Counter((r["account_id"], r["timestamp"][:10]) for r in structuring)
    assert max(per_account_day.values()) >= 3, "several payments by one account within a day"

    takeover = by_pattern["account_takeover"]
    assert all(r["channel"] == "online" and Decimal(r["amount"]) >= 250 for r in takeover)
    usual = _usual_merchants(generated)
    assert all(r["merchant_id"] not in usual[r["account_id"]] for r in takeover), "merchants new to the account"
    home = _home_countries(generated)
    assert all(r["country"] != home[r["account_id"]] for r in takeover), "abroad"

    outliers = by_pattern["outlier"]
    assert all(Decimal(r["amount"]) >= 20_000 and r["merchant_category"] in {"7995", "6051", "4829", "6211"}
               for r in outliers)  # fmt: skip


def test_one_hundred_thousand_transactions_in_a_few_seconds():
    started = time.perf_counter()
    generated = generate(n_accounts=2000, days=30, seed=7)
    elapsed = time.perf_counter() - started
    assert len(generated) > 90_000
    assert elapsed < 10, f"took {elapsed:.1f} s"


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="at least 1"):
        generate(n_accounts=0, days=5, seed=1)
    with pytest.raises(ValueError, match="timezone-aware"):
        generate(n_accounts=10, days=5, seed=1, start=datetime(2026, 1, 1))


@pytest.mark.django_db
def test_records_to_transactions_builds_unsaved_transactions_that_save(generated):
    records = generated.records[:500]
    transactions = records_to_transactions(records, source="synthetic")
    assert all(isinstance(t, Transaction) and t.pk is None for t in transactions)
    first = transactions[0]
    assert first.amount == Decimal(records[0]["amount"])
    assert first.occurred_at == datetime.fromisoformat(records[0]["timestamp"])
    assert first.occurred_at.tzinfo is not None
    assert [t.external_id for t in transactions] == [r["external_id"] for r in records]
    Transaction.objects.bulk_create(transactions)
    assert Transaction.objects.filter(source="synthetic").count() == 500


def test_records_to_transactions_refuses_a_naive_timestamp():
    record = {**generate(n_accounts=10, days=1, seed=1).records[0], "timestamp": "2026-01-01T10:00:00"}
    with pytest.raises(ValueError, match="offset"):
        records_to_transactions([record], source="tests")


def _usual_merchants(generated) -> dict[str, set[str]]:
    usual: dict[str, set[str]] = {}
    for r, pattern in zip(generated.records, generated.patterns, strict=True):
        if not pattern:
            usual.setdefault(r["account_id"], set()).add(r["merchant_id"])
    return usual


def _home_countries(generated) -> dict[str, str]:
    countries: dict[str, Counter] = {}
    for r, pattern in zip(generated.records, generated.patterns, strict=True):
        if not pattern:
            countries.setdefault(r["account_id"], Counter())[r["country"]] += 1
    return {account: counter.most_common(1)[0][0] for account, counter in countries.items()}
