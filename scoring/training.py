"""Fitting anomaly models, exporting them to ONNX, calibrating their scores and measuring them.

Serving never imports this module: it only needs the ONNX bytes, the score reference and the
thresholds that training stores on the ModelVersion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import onnx
import onnxruntime
import skl2onnx
import sklearn
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score

from scoring.features import FEATURE_NAMES
from scoring.inference import (
    FLAG_THRESHOLD,
    ONNX_INPUT,
    ONNX_SCORE_OUTPUT,
    make_session,
    normalise_scores,
    raw_anomaly_scores,
)

# The newest opsets skl2onnx 1.20 converts IsolationForest to (ai.onnx.ml 4+ and "" 23+ are refused),
# and onnxruntime 1.32 loads. Pinned, so an upgrade of either library cannot change the graph silently.
TARGET_OPSET = {"": 22, "ai.onnx.ml": 3}
# skl2onnx's IsolationForest converter emits `label` and `scores` (decision_function) by default;
# this option adds `score_samples`, which is free of the contamination offset.
CONVERTER_OPTIONS = {"score_samples": True}
ALGORITHM = "isolation_forest"
REFERENCE_QUANTILES = 101
# Share of training traffic above each threshold, relative to contamination_target (the HIGH rate):
# with the default 0.02 that is 5% MEDIUM or above, 2% HIGH or above (flagged), 0.5% CRITICAL.
ALERT_RATE_FACTORS = {"medium": 2.5, "high": 1.0, "critical": 0.25}
# float32 in ONNX against float64 in scikit-learn: measured differences are ~2e-7 on score_samples.
PARITY_ATOL = 1e-5
PARITY_SAMPLE = 2000


class ExportParityError(RuntimeError):
    """The ONNX export does not reproduce scikit-learn's scores."""


@dataclass(frozen=True)
class TrainedModel:
    onnx_bytes: bytes
    params: dict
    score_reference: list[float]  # raw score at quantile levels 0, 0.01, ..., 1 of the training data
    thresholds: dict[str, float]  # normalised score at which MEDIUM / HIGH / CRITICAL start
    estimator: IsolationForest  # the fitted model, for parity checks and explanations
    training_alert_rates: dict[str, float] = field(default_factory=dict)
    algorithm: str = ALGORITHM


def train_isolation_forest(
    X: np.ndarray, *, seed: int, n_estimators: int = 100, contamination_target: float = 0.02
) -> TrainedModel:
    """Fit an IsolationForest on `X`, export it to ONNX, check the export, and calibrate its scores."""
    if X.ndim != 2 or X.shape[1] != len(FEATURE_NAMES):
        raise ValueError(f"X must have shape (n, {len(FEATURE_NAMES)}), got {X.shape}")
    if len(X) < 100:
        raise ValueError(f"need at least 100 training rows, got {len(X)}")
    if not 0 < contamination_target * max(ALERT_RATE_FACTORS.values()) < 0.5:
        raise ValueError("contamination_target must be in (0, 0.2)")
    X = np.ascontiguousarray(X, dtype=np.float32)
    estimator = IsolationForest(
        n_estimators=n_estimators,
        max_samples="auto",
        contamination=contamination_target,
        max_features=1.0,  # the skl2onnx converter requires every tree to see every feature
        random_state=seed,
    ).fit(X)
    onnx_bytes = export_onnx(estimator, n_features=X.shape[1])
    check_parity(estimator, onnx_bytes, X, seed=seed)

    raw = -estimator.score_samples(X)
    reference = _strictly_increasing(np.quantile(raw, np.linspace(0, 1, REFERENCE_QUANTILES)))
    scores = normalise_scores(raw, reference)
    thresholds = {
        name: float(np.quantile(scores, 1 - contamination_target * factor))
        for name, factor in ALERT_RATE_FACTORS.items()
    }
    return TrainedModel(
        onnx_bytes=onnx_bytes,
        params={
            "n_estimators": n_estimators,
            "max_samples": int(estimator.max_samples_),
            "max_features": 1.0,
            "contamination": contamination_target,
            "random_state": seed,
            "target_opset": TARGET_OPSET,
            "converter_options": CONVERTER_OPTIONS,
            "onnx_input": ONNX_INPUT,
            "onnx_output": ONNX_SCORE_OUTPUT,
            "raw_score": "-score_samples",
            "versions": {
                "scikit-learn": sklearn.__version__,
                "skl2onnx": skl2onnx.__version__,
                "onnx": onnx.__version__,
                "onnxruntime": onnxruntime.__version__,
            },
        },
        score_reference=reference.tolist(),
        thresholds=thresholds,
        estimator=estimator,
        training_alert_rates={name: float(np.mean(scores >= cut)) for name, cut in thresholds.items()},
    )


def export_onnx(estimator: IsolationForest, *, n_features: int) -> bytes:
    model = to_onnx(
        estimator,
        initial_types=[(ONNX_INPUT, FloatTensorType([None, n_features]))],
        target_opset=TARGET_OPSET,
        options={id(estimator): CONVERTER_OPTIONS},
        # skl2onnx's identity-removal pass is quadratic in graph size: 5 s of a 8 s export for 100 trees.
        # onnxruntime removes the Identity nodes itself at load, so serving speed is unchanged (measured).
        model_optim=False,
    )
    return model.SerializeToString()


def check_parity(estimator: IsolationForest, onnx_bytes: bytes, X: np.ndarray, *, seed: int) -> float:
    """Raise ExportParityError unless onnxruntime's raw scores match scikit-learn's on a sample of X."""
    rng = np.random.default_rng(seed)
    sample = X[rng.choice(len(X), size=min(PARITY_SAMPLE, len(X)), replace=False)]
    expected = -estimator.score_samples(sample)
    actual = raw_anomaly_scores(make_session(onnx_bytes), sample)
    worst = float(np.max(np.abs(actual - expected)))
    if not worst <= PARITY_ATOL:
        raise ExportParityError(f"ONNX scores differ from scikit-learn's by up to {worst:.2e} (allowed {PARITY_ATOL})")
    return worst


def evaluate(
    scores: np.ndarray,
    labels: np.ndarray,
    thresholds: Mapping[str, float],
    *,
    patterns: Sequence[str] | None = None,
) -> dict:
    """Precision, recall, F1 and alert rate when flagging at the HIGH threshold, against known labels.

    With `patterns` (the generator's pattern per row), also the recall per injected pattern.
    """
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=bool)
    if scores.shape != labels.shape:
        raise ValueError("scores and labels must have the same length")
    flagged = scores >= thresholds[FLAG_THRESHOLD]
    true_positives = int(np.sum(flagged & labels))
    n_flagged, n_fraud = int(flagged.sum()), int(labels.sum())
    precision = true_positives / n_flagged if n_flagged else 0.0
    recall = true_positives / n_fraud if n_fraud else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    metrics = {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "alert_rate": round(n_flagged / len(scores), 4) if len(scores) else 0.0,
        "average_precision": round(float(average_precision_score(labels, scores)), 4) if n_fraud > 0 else 0.0,
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
