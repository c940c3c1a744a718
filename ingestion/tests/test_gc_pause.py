"""Big batches run without cyclic GC passes; small ones never turn the collector off."""

import gc

import pytest

from conftest import transaction_record
from ingestion.services import ingest
from ingestion.services.pipeline import GC_PAUSE_MIN_ITEMS
from scoring.signals import decisions_stored

pytestmark = pytest.mark.django_db


def test_the_collector_is_paused_only_for_big_batches_and_comes_back(champion):
    seen = []

    def record(sender, **kwargs):
        seen.append(gc.isenabled())

    decisions_stored.connect(record, weak=False)
    try:
        ingest([transaction_record(1)], source="acme", actor="tests")
        ingest([transaction_record(n) for n in range(2, 2 + GC_PAUSE_MIN_ITEMS)], source="acme", actor="tests")
    finally:
        decisions_stored.disconnect(record)
    assert seen == [True, False]
    assert gc.isenabled()
