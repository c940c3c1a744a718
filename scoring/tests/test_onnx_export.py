import numpy as np
import onnx
import pytest
from sklearn.decomposition import PCA

from scoring.features import FEATURE_NAMES, build_features
from scoring.generator import generate, records_to_transactions
from scoring.inference import make_session, raw_component_scores
from scoring.onnx_export import TARGET_OPSET
from scoring.training import evaluate, sklearn_component_scores, train_ensemble


def features_for(seed: int, n_accounts: int = 200, days: int = 10):
    generated = generate(n_accounts=n_accounts, days=days, seed=seed)
    return build_features(records_to_transactions(generated.records, source="tests")), generated


@pytest.fixture(scope="module")
def trained():
    features, _ = features_for(seed=31)
    return train_ensemble(features, seed=31, n_estimators=40), features


def _autoencoder(features, seed):
    mean, scale = features.mean(axis=0, dtype=np.float64), features.std(axis=0, dtype=np.float64)
    scale[scale < 1e-6] = 1.0
    return mean, scale, PCA(n_components=0.9, svd_solver="full", random_state=seed).fit((features - mean) / scale)


def test_onnx_outputs_equal_scikit_learn_on_unseen_traffic(trained):
    model, training_features = trained
    features, _ = features_for(seed=32)
    expected = sklearn_component_scores(model.estimator, _autoencoder(training_features, 31), features)
    actual = raw_component_scores(make_session(model.onnx_bytes), features)
    np.testing.assert_allclose(actual["isolation_forest"], expected["isolation_forest"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(actual["autoencoder"], expected["autoencoder"], rtol=1e-3, atol=1e-4)


def test_exported_graph_contract(trained):
    model, _ = trained
    graph = onnx.load_from_string(model.onnx_bytes)
    assert {o.domain: o.version for o in graph.opset_import} == TARGET_OPSET
    assert [i.name for i in graph.graph.input] == ["features"]
    assert [o.name for o in graph.graph.output] == ["isolation_score", "reconstruction_error"]
    # The whole forest is one node, not ~27 per tree.
    assert [n.op_type for n in graph.graph.node].count("TreeEnsembleRegressor") == 1
    assert len(graph.graph.node) < 12


def test_thresholds_split_training_traffic(trained):
    model, _ = trained
    assert 0 < model.thresholds["medium"] < model.thresholds["high"] < model.thresholds["critical"] < 1
    for name, rate in {"medium": 0.045, "high": 0.015, "critical": 0.00375}.items():
        assert model.training_alert_rates[name] == pytest.approx(rate, abs=0.002)


def test_training_input_is_checked():
    with pytest.raises(ValueError, match="shape"):
        train_ensemble(np.zeros((500, 3), np.float32), seed=1)
    with pytest.raises(ValueError, match="at least 100"):
        train_ensemble(np.zeros((10, len(FEATURE_NAMES)), np.float32), seed=1)


def test_evaluate_counts_flags_and_budget():
    scores = np.array([0.10, 0.50, 0.97, 0.99, 0.995, 0.999])
    labels = np.array([False, True, False, True, True, False])
    patterns = ["", "outlier", "", "outlier", "structuring", ""]
    metrics = evaluate(scores, labels, {"high": 0.98}, patterns=patterns, alert_budget=0.5)
    assert metrics["precision"] == pytest.approx(2 / 3, abs=1e-4)
    assert metrics["recall"] == pytest.approx(2 / 3, abs=1e-4)
    assert metrics["alert_rate"] == pytest.approx(0.5)
    assert metrics["recall_by_pattern"] == {"outlier": 0.5, "structuring": 1.0}
    assert metrics["recall_at_budget"] == pytest.approx(2 / 3, abs=1e-4)  # top 3: 0.999, 0.995, 0.99
    forced = evaluate(scores, labels, {"high": 0.98}, flagged=np.array([0, 1, 0, 1, 1, 0], bool))
    assert forced["recall"] == 1.0 and forced["precision"] == 1.0
