"""A big batch's history queries run at the same time on connections of their own: the same history as one
after the other on the caller's connection."""

import numpy as np
import pytest
from django.db import transaction

from ingestion.services import ingest
from scoring.generator import generate, records_to_transactions
from scoring.history import CONCURRENT_READS_MIN_ITEMS, fetch_history


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_history_reads_give_the_history_sequential_reads_give(champion):
    records = generate(n_accounts=500, days=3, seed=29).records
    stored, batch = records[:800], records[800 : 800 + CONCURRENT_READS_MIN_ITEMS]
    ingest(stored, source="bank", actor="tests")
    transactions = records_to_transactions(batch, source="bank")
    concurrent = fetch_history(transactions).assemble()  # autocommit: three connections
    with transaction.atomic():  # in a transaction: its own connection, one query after the other
        sequential = fetch_history(transactions).assemble()
    assert len(concurrent.recent) > 0
    assert concurrent.profiles and concurrent.profiles == sequential.profiles
    assert concurrent.country_counts and concurrent.country_counts == sequential.country_counts
    assert concurrent.merchant_counts == sequential.merchant_counts
    order = np.lexsort((concurrent.recent.amount, concurrent.recent.epoch_s, concurrent.recent.account.astype(str)))
    again = np.lexsort((sequential.recent.amount, sequential.recent.epoch_s, sequential.recent.account.astype(str)))
    for column in ("account", "epoch_s", "amount", "country", "merchant"):
        assert list(getattr(concurrent.recent, column)[order]) == list(getattr(sequential.recent, column)[again])
