import numpy as np
import pytest

from scoring.generator import generate, records_to_transactions
from scoring.inference import NoChampionModel, champion_scorer
from scoring.models import RiskLevel
from scoring.services import batch_score
from scoring.tests.builders import transaction

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def fresh_traffic():
    """Traffic the champion never saw: another seed than its training and held-out sets."""
    generated = generate(n_accounts=300, days=14, seed=2024)
    return records_to_transactions(generated.records, source="tests"), generated


def test_injected_fraud_is_flagged_far_more_often_than_legit_traffic(champion, fresh_traffic):
    transactions, generated = fresh_traffic
    result = batch_score(transactions=transactions)

    patterns = np.array(generated.patterns, dtype=object)
    blatant = (patterns == "outlier") | (patterns == "structuring")
    alert_rate = result.flagged.mean()
    assert 0.005 < alert_rate < 0.05
    assert result.flagged[blatant].mean() > 0.6
    assert result.flagged[blatant].mean() > 10 * result.flagged[~generated.labels].mean()
    assert result.scores[generated.labels].mean() > result.scores[~generated.labels].mean()


def test_result_shape(champion, fresh_traffic):
    transactions, _ = fresh_traffic
    result = batch_score(transactions=transactions[:1000])

    assert result.model_version.pk == champion.pk
    assert result.scores.shape == result.flagged.shape == (1000,)
    assert result.flagged.dtype == bool
    assert len(result.risk_levels) == 1000
    assert set(result.risk_levels) <= set(RiskLevel.values)
    assert ((result.scores >= 0) & (result.scores <= 1)).all()
    # Rules may add flags; they never remove the model's.
    assert (result.flagged | ~(result.scores >= champion.thresholds["high"])).all()
    assert result.latency_ms > 0


def test_one_model_call_per_batch(champion, fresh_traffic, monkeypatch):
    transactions, _ = fresh_traffic
    session = champion_scorer().session
    calls = []
    real_run = session.run
    monkeypatch.setattr(session, "run", lambda *args, **kwargs: calls.append(1) or real_run(*args, **kwargs))

    batch_score(transactions=transactions[:2000])

    assert calls == [1]


def test_a_transaction_scores_the_same_alone_and_in_a_batch(champion, fresh_traffic):
    transactions, _ = fresh_traffic
    # One transaction per account and per counterparty: no row is another's history (neither its account's
    # nor its payee's), so the batch cannot change a score.
    by_account = list({t.account_id: t for t in reversed(transactions[:2000])}.values())
    firsts = list({t.merchant_id or t.external_id: t for t in by_account}.values())[:200]
    batch = batch_score(transactions=firsts)
    alone = [batch_score(transactions=[t]) for t in firsts[::20]]
    np.testing.assert_allclose([r.scores[0] for r in alone], batch.scores[::20], rtol=0, atol=1e-6)
    assert [r.risk_levels[0] for r in alone] == batch.risk_levels[::20]


def test_an_obvious_anomaly_is_flagged_and_an_everyday_payment_is_not(champion):
    everyday = transaction(1)
    suspicious = transaction(
        2,
        amount="98500.00",
        currency="USD",
        timestamp="2026-11-20T03:12:00Z",
        merchant_category="6051",
        country="KP",
        channel="online",
    )
    result = batch_score(transactions=[everyday, suspicious])
    assert result.flagged.tolist() == [False, True]
    assert result.risk_levels[1] == RiskLevel.CRITICAL


def test_empty_batch(champion):
    result = batch_score(transactions=[])
    assert result.scores.shape == (0,) and result.risk_levels == [] and result.flagged.shape == (0,)


def test_scoring_without_a_champion_is_a_clear_error():
    with pytest.raises(NoChampionModel):
        batch_score(transactions=[transaction()])
