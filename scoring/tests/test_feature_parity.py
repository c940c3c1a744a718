"""The same code builds training features (history in memory) and serving features (history from the DB)."""

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scoring.features import FEATURE_NAMES, build_feature_frame
from scoring.generator import generate, records_to_transactions
from scoring.history import load_history
from scoring.tests.builders import store_history

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored_and_batch():
    """Ten days of traffic: the first eight stored, the last two arriving as a batch."""
    generated = generate(n_accounts=120, days=10, seed=77)
    transactions = records_to_transactions(generated.records, source="tests")
    cut = max(i for i, t in enumerate(transactions) if t.occurred_at.day < transactions[0].occurred_at.day + 8)
    store_history(transactions[: cut + 1])
    return transactions, cut + 1


def test_serving_features_equal_training_features(stored_and_batch):
    transactions, cut = stored_and_batch
    training = build_feature_frame(transactions).matrix[cut:]  # everything in memory, as training does
    batch = transactions[cut:]
    serving = build_feature_frame(batch, load_history(batch)).matrix  # history from the database
    np.testing.assert_allclose(serving, training, rtol=1e-5, atol=1e-4)
    # The behavioural block is not trivially zero: history made a difference.
    without_history = build_feature_frame(batch).matrix
    for name in (
        "count_24h",
        "amount_zscore",
        "is_new_merchant",
        "amount_vs_category",
        "amount_category_zscore",
        "amount_vs_max",
        "counterparties_24h",
        "new_counterparties_24h",
        "counterparty_senders_24h",
        "counterparty_senders_7d",
        "counterparty_new_sender_share",
        "counterparty_log_inflow_24h",
    ):
        column = FEATURE_NAMES.index(name)
        assert not np.allclose(serving[:, column], without_history[:, column]), name


def test_history_costs_a_constant_number_of_queries(stored_and_batch):
    transactions, cut = stored_and_batch
    counts = []
    for size in (5, 400):
        with CaptureQueriesContext(connection) as queries:
            load_history(transactions[cut : cut + size])
        counts.append(len(queries))
    assert counts[0] == counts[1] == 5


def test_velocity_counts_the_rest_of_the_batch():
    from scoring.tests.builders import transaction

    burst = [transaction(i, amount="1.00", timestamp=f"2026-11-18T14:0{i}:00Z", merchant_id="m-x") for i in range(5)]
    frame = build_feature_frame(burst)
    assert frame.column("count_10m").tolist() == [0, 1, 2, 3, 4]
    assert frame.window_count(600, lambda a: np.abs(a) <= 5).tolist() == [1, 2, 3, 4, 5]
