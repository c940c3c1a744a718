import numpy as np
import onnx
import pytest

from scoring import training
from scoring.features import FEATURE_NAMES, build_features
from scoring.generator import generate, records_to_transactions
from scoring.inference import make_session, normalise_scores, raw_anomaly_scores
from scoring.training import TARGET_OPSET, ExportParityError, evaluate, train_isolation_forest


def features_for(seed: int, n_accounts: int = 200, days: int = 10):
    generated = generate(n_accounts=n_accounts, days=days, seed=seed)
    return build_features(records_to_transactions(generated.records, source="tests")), generated


@pytest.fixture(scope="module")
def trained():
    features, _ = features_for(seed=31)
    return train_isolation_forest(features, seed=31, n_estimators=40), features


def test_onnx_scores_equal_scikit_learn_on_unseen_traffic(trained):
    model, _ = trained
    features, _ = features_for(seed=32)
    expected = -model.estimator.score_samples(features)
    actual = raw_anomaly_scores(make_session(model.onnx_bytes), features)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-5)


def test_onnx_and_scikit_learn_agree_on_risk_away_from_thresholds(trained):
    model, _ = trained
    features, _ = features_for(seed=33)
    expected = normalise_scores(-model.estimator.score_samples(features), model.score_reference)
    actual = normalise_scores(raw_anomaly_scores(make_session(model.onnx_bytes), features), model.score_reference)
    cuts = np.array(list(model.thresholds.values()))
    # float32 against float64 may flip a row that sits on a threshold; compare the others.
    clear = np.min(np.abs(expected[:, None] - cuts[None, :]), axis=1) > 1e-4
    assert clear.mean() > 0.99
    assert np.array_equal(
        np.searchsorted(cuts, actual[clear], "right"), np.searchsorted(cuts, expected[clear], "right")
    )


def test_exported_graph_contract(trained):
    model, _ = trained
    graph = onnx.load_from_string(model.onnx_bytes)
    assert {o.domain: o.version for o in graph.opset_import} == TARGET_OPSET
    assert [i.name for i in graph.graph.input] == ["features"]
    assert "score_samples" in [o.name for o in graph.graph.output]
    assert model.params["max_features"] == 1.0
    assert model.params["target_opset"] == TARGET_OPSET


def test_thresholds_split_training_traffic_5_2_and_half_percent(trained):
    model, features = trained
    assert 0 < model.thresholds["medium"] < model.thresholds["high"] < model.thresholds["critical"] < 1
    scores = normalise_scores(-model.estimator.score_samples(features), model.score_reference)
    for name, rate in {"medium": 0.05, "high": 0.02, "critical": 0.005}.items():
        assert np.mean(scores >= model.thresholds[name]) == pytest.approx(rate, abs=0.002)
        assert model.training_alert_rates[name] == pytest.approx(rate, abs=0.002)


def test_score_reference_maps_raw_scores_onto_0_1(trained):
    model, features = trained
    reference = np.array(model.score_reference)
    assert len(reference) == 101 and np.all(np.diff(reference) > 0)
    scores = normalise_scores(-model.estimator.score_samples(features), reference)
    assert scores.min() == 0 and scores.max() == 1
    assert np.median(scores) == pytest.approx(0.5, abs=0.01)


def test_a_bad_export_is_refused(monkeypatch):
    features, _ = features_for(seed=34, n_accounts=100, days=5)
    monkeypatch.setattr(training, "raw_anomaly_scores", lambda session, x: raw_anomaly_scores(session, x) + 1e-3)
    with pytest.raises(ExportParityError, match="differ"):
        train_isolation_forest(features, seed=34, n_estimators=10)


def test_training_input_is_checked():
    with pytest.raises(ValueError, match="shape"):
        train_isolation_forest(np.zeros((500, 3), np.float32), seed=1)
    with pytest.raises(ValueError, match="at least 100"):
        train_isolation_forest(np.zeros((10, len(FEATURE_NAMES)), np.float32), seed=1)


def test_evaluate_counts_at_the_high_threshold():
    scores = np.array([0.10, 0.50, 0.97, 0.99, 0.995, 0.999])
    labels = np.array([False, True, False, True, True, False])
    patterns = ["", "outlier", "", "outlier", "structuring", ""]
    metrics = evaluate(scores, labels, {"medium": 0.95, "high": 0.98, "critical": 0.998}, patterns=patterns)
    # Flagged (>= 0.98): 0.99, 0.995, 0.999 -> 2 true positives of 3 flagged, 2 of 3 frauds found.
    assert metrics["precision"] == pytest.approx(2 / 3, abs=1e-4)
    assert metrics["recall"] == pytest.approx(2 / 3, abs=1e-4)
    assert metrics["f1"] == pytest.approx(2 / 3, abs=1e-4)
    assert metrics["alert_rate"] == pytest.approx(0.5)
    assert metrics["recall_by_pattern"] == {"outlier": 0.5, "structuring": 1.0}
    assert (metrics["n"], metrics["n_fraud"], metrics["n_flagged"]) == (6, 3, 3)


def test_evaluate_without_alerts_or_fraud():
    metrics = evaluate(np.array([0.1, 0.2]), np.array([False, False]), {"high": 0.98})
    assert metrics["precision"] == metrics["recall"] == metrics["f1"] == metrics["alert_rate"] == 0.0
