"""Fitting the ensemble, exporting it to ONNX, calibrating its scores and measuring it.

Serving never imports this module: it needs only the ONNX bytes, the score references, the thresholds
and the explainer trees that training stores on the ModelVersion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import onnx
import onnxruntime
import sklearn
from sklearn.decomposition import PCA
from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest
from sklearn.metrics import average_precision_score

from scoring.calibration import ALERT_RATE_FACTORS
from scoring.drift import drift_reference
from scoring.features import FEATURE_NAMES
from scoring.inference import (
    FLAG_THRESHOLD,
    SUPERVISED,
    SUPERVISED_OUTPUT,
    combine_scores,
    make_session,
    normalise_scores,
    raw_component_scores,
)
from scoring.onnx_export import (
    ISOLATION_OUTPUT,
    ONNX_INPUT,
    RECONSTRUCTION_OUTPUT,
    TARGET_OPSET,
    ensemble_graph,
    explainer_trees,
)

ALGORITHM = "ensemble:isolation_forest+pca_autoencoder"
SUPERVISED_ALGORITHM = "ensemble:isolation_forest+pca_autoencoder+hist_gradient_boosting"
# The supervised classifier: shallow trees, few leaves, and L2 on leaf values, because positives are rare
# (hundreds among hundreds of thousands) and a leaf fitted to a handful of them would not generalise.
SUPERVISED_PARAMS = {"max_iter": 200, "learning_rate": 0.08, "max_leaf_nodes": 15, "min_samples_leaf": 40,
                     "l2_regularization": 1.0, "early_stopping": False}  # fmt: skip
# Raw score at quantile levels 0, 0.001, ..., 1 of the training data: fine enough to place a 1.5% cut.
REFERENCE_QUANTILES = 1001
# Share of training traffic above each threshold: scoring.calibration.ALERT_RATE_FACTORS times
# contamination_target (the HIGH rate, ALERT_BUDGET by default), so the rules' forced flags still fit in
# the total budget (ALERT_BUDGET + RULES_ALERT_BUDGET).
# Weights of the two detectors' normalised scores. The forest carries most of the signal on the
# generator's patterns (held-out recall at 1.5% alerts: forest 0.81, autoencoder 0.43, max 0.77, this
# mix 0.82); the autoencoder adds the rows whose feature combination is odd without any extreme value.
ENSEMBLE_WEIGHTS = {"isolation_forest": 0.75, "autoencoder": 0.25}
AUTOENCODER_VARIANCE = 0.90  # PCA keeps the components explaining 90% of the standardised variance
# float32 in ONNX against float64 in scikit-learn: measured worst differences ~1e-7 (forest) and
# ~1e-4 relative (reconstruction error of a 25x25 float32 product).
PARITY_ATOL = 1e-5
PARITY_RTOL = 1e-3
PARITY_SAMPLE = 2000


class ExportParityError(RuntimeError):
    """The ONNX export does not reproduce scikit-learn's scores."""


@dataclass(frozen=True)
class TrainedModel:
    onnx_bytes: bytes
    explainer_bytes: bytes
    params: dict
    score_reference: dict[str, list[float]]
    thresholds: dict[str, float]
    drift_reference: dict
    estimator: IsolationForest
    classifier: HistGradientBoostingClassifier | None = None
    training_alert_rates: dict[str, float] = field(default_factory=dict)
    algorithm: str = ALGORITHM


@dataclass(frozen=True)
class Detectors:
    """The unsupervised detectors fitted on one training matrix: the forest and the linear autoencoder
    (standardisation and PCA). A retraining fits them once and builds the versions with and without the
    supervised classifier from the same detectors."""

    estimator: IsolationForest
    mean: np.ndarray
    scale: np.ndarray
    pca: PCA
    n_estimators: int
    seed: int

    @property
    def autoencoder(self) -> tuple:
        return self.mean, self.scale, self.pca


@dataclass(frozen=True)
class Labelled:
    """Training rows for the supervised classifier: features and whether each row is known fraud."""

    X: np.ndarray
    is_fraud: np.ndarray


def fit_detectors(X: np.ndarray, *, seed: int, n_estimators: int = 100) -> Detectors:
    X = _training_matrix(X)
    estimator = IsolationForest(n_estimators=n_estimators, max_samples="auto", max_features=1.0, random_state=seed).fit(
        X
    )
    mean, scale = X.mean(axis=0, dtype=np.float64), X.std(axis=0, dtype=np.float64)
    scale[scale < 1e-6] = 1.0  # a constant column carries no information; keep it out of the error
    pca = PCA(n_components=AUTOENCODER_VARIANCE, svd_solver="full", random_state=seed).fit((X - mean) / scale)
    return Detectors(estimator, mean, scale, pca, n_estimators, seed)


def fit_supervised(labelled: Labelled, *, seed: int) -> HistGradientBoostingClassifier:
    """HistGradientBoostingClassifier on the labelled rows (fraud against everything else)."""
    X = np.ascontiguousarray(labelled.X, dtype=np.float32)
    y = np.asarray(labelled.is_fraud, dtype=bool)
    if X.ndim != 2 or X.shape[1] != len(FEATURE_NAMES) or len(X) != len(y):
        raise ValueError(f"labelled rows must have shape (n, {len(FEATURE_NAMES)}) with one label each")
    if y.all() or not y.any():
        raise ValueError("the supervised classifier needs both fraud and non-fraud rows")
    return HistGradientBoostingClassifier(**SUPERVISED_PARAMS, random_state=seed).fit(X, y)


def train_ensemble(
    X: np.ndarray,
    *,
    seed: int,
    n_estimators: int = 100,
    contamination_target: float = 0.015,
    detectors: Detectors | None = None,
    supervised: Labelled | None = None,
    supervised_weight: float = 0.5,
) -> TrainedModel:
    """Fit both detectors on `X` (or reuse `detectors` fitted on it), and with `supervised` labelled rows the
    supervised classifier too; export them as one ONNX graph, check the export, calibrate the scores.

    With the classifier, the ensemble's score blends the parts' normalised scores with weight
    `supervised_weight` for the classifier and the rest shared as ENSEMBLE_WEIGHTS share it."""
    X = _training_matrix(X)
    if not 0 < contamination_target * max(ALERT_RATE_FACTORS.values()) < 0.5:
        raise ValueError("contamination_target must be in (0, 0.16)")
    if supervised is not None and not 0 < supervised_weight < 1:
        raise ValueError("supervised_weight must be in (0, 1)")
    if detectors is None:
        detectors = fit_detectors(X, seed=seed, n_estimators=n_estimators)
    estimator, pca = detectors.estimator, detectors.pca
    classifier = fit_supervised(supervised, seed=seed) if supervised is not None else None
    shift = detectors.mean + detectors.scale * pca.mean_
    onnx_bytes = ensemble_graph(
        estimator, n_features=X.shape[1], shift=shift, scale=detectors.scale, pca=pca, supervised=classifier
    )
    check_parity(estimator, detectors.autoencoder, onnx_bytes, X, seed=seed, classifier=classifier)

    if classifier is None:
        weights = dict(ENSEMBLE_WEIGHTS)
    else:
        weights = {name: round(w * (1 - supervised_weight), 6) for name, w in ENSEMBLE_WEIGHTS.items()}
        weights[SUPERVISED] = round(1 - sum(weights.values()), 6)
    raw = raw_component_scores(make_session(onnx_bytes), X, tuple(weights))
    reference = {
        name: _strictly_increasing(np.quantile(values, np.linspace(0, 1, REFERENCE_QUANTILES))).tolist()
        for name, values in raw.items()
    }
    combined = combine_scores(raw, reference, weights)
    reference["ensemble"] = _strictly_increasing(np.quantile(combined, np.linspace(0, 1, REFERENCE_QUANTILES))).tolist()
    scores = normalise_scores(combined, reference["ensemble"])
    thresholds = {
        name: float(np.quantile(scores, 1 - contamination_target * factor))
        for name, factor in ALERT_RATE_FACTORS.items()
    }
    params = {
        "isolation_forest": {
            "n_estimators": detectors.n_estimators,
            "max_samples": int(estimator.max_samples_),
            "max_features": 1.0,
            "random_state": detectors.seed,
        },
        "autoencoder": {
            "kind": "pca",
            "explained_variance": AUTOENCODER_VARIANCE,
            "n_components": int(pca.n_components_),
        },
        "ensemble_weights": weights,
        "contamination_target": contamination_target,
        "target_opset": TARGET_OPSET,
        "onnx_input": ONNX_INPUT,
        "onnx_outputs": [ISOLATION_OUTPUT, RECONSTRUCTION_OUTPUT] + ([SUPERVISED_OUTPUT] if classifier else []),
        "versions": {
            "scikit-learn": sklearn.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
        },
    }
    if classifier is not None:
        params[SUPERVISED] = {
            "kind": "hist_gradient_boosting",
            **SUPERVISED_PARAMS,
            "random_state": seed,
            "n_iter": int(classifier.n_iter_),
            "rows": len(supervised.X),
            "positives": int(np.sum(supervised.is_fraud)),
        }
    return TrainedModel(
        onnx_bytes=onnx_bytes,
        explainer_bytes=explainer_trees(estimator, classifier),
        params=params,
        score_reference=reference,
        thresholds=thresholds,
        drift_reference=drift_reference(X, scores),
        estimator=estimator,
        classifier=classifier,
        training_alert_rates={name: float(np.mean(scores >= cut)) for name, cut in thresholds.items()},
        algorithm=ALGORITHM if classifier is None else SUPERVISED_ALGORITHM,
    )


def _training_matrix(X: np.ndarray) -> np.ndarray:
    if X.ndim != 2 or X.shape[1] != len(FEATURE_NAMES):
        raise ValueError(f"X must have shape (n, {len(FEATURE_NAMES)}), got {X.shape}")
    if len(X) < 100:
        raise ValueError(f"need at least 100 training rows, got {len(X)}")
    return np.ascontiguousarray(X, dtype=np.float32)


def sklearn_component_scores(
    estimator: IsolationForest, autoencoder, X: np.ndarray, classifier: HistGradientBoostingClassifier | None = None
) -> dict[str, np.ndarray]:
    """What scikit-learn computes for the outputs of the ONNX graph (the parity reference)."""
    mean, scale, pca = autoencoder
    Z = (np.asarray(X, np.float64) - mean) / scale
    reconstruction = pca.inverse_transform(pca.transform(Z))
    scores = {
        "isolation_forest": -estimator.score_samples(X),
        "autoencoder": np.sum((Z - reconstruction) ** 2, axis=1),
    }
    if classifier is not None:
        scores[SUPERVISED] = classifier.decision_function(np.asarray(X, np.float32))
    return scores


def check_parity(
    estimator, autoencoder, onnx_bytes: bytes, X: np.ndarray, *, seed: int, classifier=None
) -> dict[str, float]:
    """Raise ExportParityError unless onnxruntime's outputs match scikit-learn's on a sample of X."""
    rng = np.random.default_rng(seed)
    sample = X[rng.choice(len(X), size=min(PARITY_SAMPLE, len(X)), replace=False)]
    expected = sklearn_component_scores(estimator, autoencoder, sample, classifier)
    actual = raw_component_scores(make_session(onnx_bytes), sample, tuple(expected))
    worst = {}
    for name, values in expected.items():
        if not np.allclose(actual[name], values, atol=PARITY_ATOL, rtol=PARITY_RTOL):
            difference = float(np.max(np.abs(actual[name] - values)))
            raise ExportParityError(f"ONNX {name} differs from scikit-learn's by up to {difference:.2e}")
        worst[name] = float(np.max(np.abs(actual[name] - values)))
    return worst


def evaluate(
    scores: np.ndarray,
    labels: np.ndarray,
    thresholds: Mapping[str, float],
    *,
    flagged: np.ndarray | None = None,
    patterns: Sequence[str] | None = None,
    alert_budget: float = 0.02,
) -> dict:
    """Precision, recall, F1, PR-AUC, alert rate (flagging at HIGH, or `flagged` when rules were applied),
    and recall at a fixed alert budget (the top `alert_budget` share of scores), against known labels."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=bool)
    if scores.shape != labels.shape:
        raise ValueError("scores and labels must have the same length")
    if flagged is None:
        flagged = scores >= thresholds[FLAG_THRESHOLD]
    flagged = np.asarray(flagged, dtype=bool)
    true_positives = int(np.sum(flagged & labels))
    n_flagged, n_fraud = int(flagged.sum()), int(labels.sum())
    precision = true_positives / n_flagged if n_flagged else 0.0
    recall = true_positives / n_fraud if n_fraud else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    budget = max(round(alert_budget * len(scores)), 1) if len(scores) else 0
    top = np.argsort(-scores, kind="stable")[:budget]
    metrics = {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "alert_rate": round(n_flagged / len(scores), 4) if len(scores) else 0.0,
        "pr_auc": round(float(average_precision_score(labels, scores)), 4) if 0 < n_fraud < len(labels) else 0.0,
        "alert_budget": alert_budget,
        "recall_at_budget": round(float(labels[top].sum() / n_fraud), 4) if n_fraud else 0.0,
        "n": len(scores),
        "n_fraud": n_fraud,
        "n_flagged": n_flagged,
    }
    if patterns is not None:
        pattern_arr = np.asarray(patterns, dtype=object)
        metrics["recall_by_pattern"] = {
            str(p): round(float(flagged[pattern_arr == p].mean()), 4) for p in sorted(set(patterns)) if p
        }
    return metrics


def _strictly_increasing(values: np.ndarray) -> np.ndarray:
    """Quantiles can tie (many identical rows); nudge ties up by one ulp so np.interp stays well defined."""
    values = np.asarray(values, dtype=np.float64).copy()
    for i in range(1, len(values)):
        if values[i] <= values[i - 1]:
            values[i] = np.nextafter(values[i - 1], np.inf)
    return values
