"""Big batches are scored on a helper thread while their transactions and profiles are written: the same
decisions as scoring first, and a scoring failure stores nothing."""

import threading

import pytest
from django.db import transaction

from ingestion.services import ingest
from scoring.generator import generate
from scoring.models import AccountProfile, AccountValueCount, Decision, Transaction
from scoring.services import PreparedBatch
from scoring.services import batch as scoring_batch

pytestmark = pytest.mark.django_db

BIG = scoring_batch.BACKGROUND_SCORING_MIN_ITEMS


@pytest.fixture
def traffic():
    """Three days of 500 accounts: a stored history, then a big batch of the same accounts' next transactions."""
    records = generate(n_accounts=500, days=3, seed=23).records
    assert len(records) > 600 + BIG
    return records[:600], records[600 : 600 + BIG]


@pytest.fixture
def scoring_threads(monkeypatch):
    """The name of the thread each PreparedBatch.score() ran on (the scoring itself unchanged)."""
    names = []
    score = PreparedBatch.score

    def spied(self):
        names.append(threading.current_thread().name)
        return score(self)

    monkeypatch.setattr(PreparedBatch, "score", spied)
    return names


def _outcome(source: str) -> list[tuple]:
    decisions = Decision.objects.filter(transaction__source=source).order_by("transaction__external_id")
    return list(decisions.values_list("transaction__external_id", "score", "risk_level", "flagged", "features"))


def test_a_big_batch_scored_on_the_helper_thread_gets_the_decisions_scoring_first_gives(
    champion, traffic, scoring_threads, monkeypatch
):
    history, batch = traffic
    ingest(history, source="bank", actor="tests")
    outcomes, profiles = {}, {}
    for mode, minimum in (("helper", BIG), ("first", BIG + 1)):
        monkeypatch.setattr(scoring_batch, "BACKGROUND_SCORING_MIN_ITEMS", minimum)
        with transaction.atomic():  # each mode from the same stored state
            result = ingest(batch, source="bank", actor="tests")
            assert result.accepted == BIG
            assert {"score", "score_wait", "profiles"} <= result.timings_ms.keys()
            outcomes[mode] = _outcome("bank")
            profiles[mode] = sorted(AccountProfile.objects.values_list("account_id", "n", "last_epoch_s"))
            transaction.set_rollback(True)
    assert scoring_threads[-2].startswith("batch-score")
    assert scoring_threads[-1] == threading.current_thread().name
    assert len(outcomes["helper"]) == len(history) + BIG
    assert outcomes["helper"] == outcomes["first"]
    assert profiles["helper"] == profiles["first"]
    assert sum(1 for *_, flagged, _features in outcomes["helper"] if flagged) > 0


def test_when_scoring_fails_on_the_helper_thread_nothing_of_the_batch_is_stored(
    champion, traffic, scoring_threads, monkeypatch
):
    _history, batch = traffic

    def failing(self):
        scoring_threads.append(threading.current_thread().name)
        raise RuntimeError("the model failed")

    monkeypatch.setattr(PreparedBatch, "score", failing)
    with pytest.raises(RuntimeError, match="the model failed"):
        ingest(batch, source="bank", actor="tests")
    assert scoring_threads[0].startswith("batch-score")
    # The transactions and the profiles were written before the scores were needed: rolled back with them.
    assert not Transaction.objects.exists()
    assert not AccountProfile.objects.exists()
    assert not AccountValueCount.objects.exists()
