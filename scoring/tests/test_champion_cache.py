import time

import numpy as np
import pytest

from conftest import run_in_threads
from scoring import inference
from scoring.features import FEATURE_NAMES
from scoring.inference import ModelArtifactError, NoChampionModel, Scorer, champion_scorer
from scoring.models import ModelVersion, RiskLevel
from scoring.services import model_promote
from scoring.tests.builders import copy_model_version

pytestmark = pytest.mark.django_db


def test_the_champion_is_loaded_once_and_then_costs_one_query(champion, django_assert_num_queries):
    scorer = champion_scorer()
    assert scorer.model_version.pk == champion.pk
    with django_assert_num_queries(1):
        assert champion_scorer() is scorer


def test_a_promotion_elsewhere_is_picked_up(champion):
    before = champion_scorer()
    challenger = copy_model_version(champion, status=ModelVersion.Status.CANDIDATE)

    model_promote(model_version=challenger, actor="tests")

    after = champion_scorer()
    assert after is not before
    assert after.model_version.pk == challenger.pk
    assert champion_scorer() is after


def test_no_champion_is_a_clear_error(champion):
    ModelVersion.objects.update(status=ModelVersion.Status.RETIRED)
    with pytest.raises(NoChampionModel, match="train_model"):
        champion_scorer()


def test_concurrent_first_calls_load_the_model_once(champion, monkeypatch):
    loads = []

    def slow_load(pk):
        loads.append(pk)
        time.sleep(0.05)  # widen the window in which other threads arrive
        return Scorer(champion)

    # The threads share this test's database transaction only through these two stand-ins.
    monkeypatch.setattr(inference, "champion_key", lambda: (champion.pk, champion.artifact_sha256))
    monkeypatch.setattr(inference, "_load_scorer", slow_load)
    results = run_in_threads(lambda _: champion_scorer(), 8)

    assert loads == [champion.pk]
    assert len(results) == 8 and all(r is results[0] for r in results)


def test_a_tampered_artifact_is_refused(champion):
    champion.artifact = bytes(champion.artifact)[:-1] + b"\x00"
    with pytest.raises(ModelArtifactError, match="sha256"):
        Scorer(champion)


def test_a_model_trained_on_other_features_is_refused(champion):
    champion.feature_names = [*FEATURE_NAMES, "velocity_1h"]
    with pytest.raises(ModelArtifactError, match="features"):
        Scorer(champion)


def test_inconsistent_thresholds_are_refused(champion):
    champion.thresholds = {"medium": 0.99, "high": 0.98, "critical": 0.995}
    with pytest.raises(ModelArtifactError, match="thresholds"):
        Scorer(champion)


def test_risk_levels_and_flags_follow_the_thresholds(champion):
    scorer = Scorer(champion)
    t = scorer.thresholds
    scores = np.array([0.0, t["medium"] - 1e-9, t["medium"], t["high"], t["critical"], 1.0])
    assert scorer.risk_levels(scores).tolist() == [
        RiskLevel.LOW,
        RiskLevel.LOW,
        RiskLevel.MEDIUM,
        RiskLevel.HIGH,
        RiskLevel.CRITICAL,
        RiskLevel.CRITICAL,
    ]
    assert scorer.flagged(scores).tolist() == [False, False, False, True, True, True]


def test_wrong_feature_matrix_is_refused(champion):
    with pytest.raises(ValueError, match="shape"):
        Scorer(champion).raw_scores(np.zeros((3, 4), np.float32))
