"""Serving a registered model: an onnxruntime session per model version, and the process-wide champion.

Only numpy and onnxruntime here (no scikit-learn), so web and worker processes stay light.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence

import numpy as np
import onnxruntime as ort

from scoring.features import FEATURE_NAMES
from scoring.models import ModelVersion, RiskLevel

ONNX_INPUT = "features"
ISOLATION_OUTPUT = "isolation_score"  # = -IsolationForest.score_samples, in (0, 1], higher = more anomalous
RECONSTRUCTION_OUTPUT = "reconstruction_error"  # PCA reconstruction squared error, standardised units
SUPERVISED_OUTPUT = "supervised_logit"  # HistGradientBoostingClassifier.decision_function: log-odds of fraud
RISK_THRESHOLDS = ("medium", "high", "critical")
FLAG_THRESHOLD = "high"
COMPONENTS = {"isolation_forest": ISOLATION_OUTPUT, "autoencoder": RECONSTRUCTION_OUTPUT}
# The supervised classifier: part of a version only when it was trained with enough labels.
SUPERVISED = "supervised"
ALL_COMPONENTS = {**COMPONENTS, SUPERVISED: SUPERVISED_OUTPUT}
_LEVELS = np.array([RiskLevel.LOW.value, RiskLevel.MEDIUM.value, RiskLevel.HIGH.value, RiskLevel.CRITICAL.value])


class NoChampionModel(LookupError):
    """No model version has status champion, so nothing can be scored."""


class ModelArtifactError(RuntimeError):
    """A registered model cannot be served as stored (corrupt artifact, wrong feature list, bad thresholds)."""


def session_options() -> ort.SessionOptions:
    """Options for a 2-core machine that also runs the web server, database client and workers.

    Measured here (2 cores, shared), the default ensemble (100 trees in one TreeEnsembleRegressor node +
    the PCA branch, 25 features), median of session.run (`python bench/score.py --threads`):
      intra_op threads  | 1 row    | 1,000 rows | 10,000 rows
      1, spinning off   | 0.028 ms | 2.4 ms     | 33 ms
      2, spinning off   | 0.040 ms | 2.5 ms     | 38 ms
    A second thread gains nothing at any batch size (the tree node is memory-bound, and the other core
    is busy with the web process, the database client and workers) and costs the hand-off on small
    batches that dominate API traffic. Hence one thread, no spinning, sequential.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only
    return options


def make_session(onnx_bytes: bytes) -> ort.InferenceSession:
    return ort.InferenceSession(onnx_bytes, sess_options=session_options(), providers=["CPUExecutionProvider"])


def raw_component_scores(
    session: ort.InferenceSession, features: np.ndarray, components: Sequence[str] = tuple(COMPONENTS)
) -> dict[str, np.ndarray]:
    """Each detector's raw score per row (float64, higher = more anomalous or likelier fraud), in one
    onnxruntime call; `components` names the graph's parts (ALL_COMPONENTS keys) to run."""
    if len(features) == 0:
        return {name: np.empty(0, dtype=np.float64) for name in components}
    outputs = session.run(
        [ALL_COMPONENTS[name] for name in components], {ONNX_INPUT: np.ascontiguousarray(features, np.float32)}
    )
    return {name: np.asarray(out, dtype=np.float64).ravel() for name, out in zip(components, outputs, strict=True)}


def normalise_scores(raw: np.ndarray, score_reference: Sequence[float]) -> np.ndarray:
    """Map raw scores to 0..1 through training quantiles: 0.97 means above 97% of training traffic.

    `score_reference` holds the raw score at evenly spaced quantile levels 0, 1/(k-1), ..., 1.
    Scores beyond the training range clip to 0 or 1.
    """
    reference = np.asarray(score_reference, dtype=np.float64)
    levels = np.linspace(0.0, 1.0, len(reference))
    return np.interp(np.asarray(raw, dtype=np.float64), reference, levels)


def combine_scores(raw: dict[str, np.ndarray], reference: dict, weights: dict[str, float]) -> np.ndarray:
    """Weighted mean of the detectors' normalised scores (before the ensemble's own calibration): each raw
    score is first mapped to its quantile on training traffic, so a forest path length, a reconstruction
    error and a log-odds of fraud are blended on one scale. `weights` names the parts and sums to 1."""
    return sum(weights[name] * normalise_scores(raw[name], reference[name]) for name in weights)


class Scorer:
    """One model version, ready to score: verified artifact, one session, its calibration and thresholds."""

    def __init__(self, model_version: ModelVersion):
        artifact = bytes(model_version.artifact)
        digest = hashlib.sha256(artifact).hexdigest()
        if digest != model_version.artifact_sha256:
            raise ModelArtifactError(
                f"Model v{model_version.version}: artifact sha256 is {digest}, "
                f"the registry says {model_version.artifact_sha256}; refusing to serve it."
            )
        if tuple(model_version.feature_names) != FEATURE_NAMES:
            raise ModelArtifactError(
                f"Model v{model_version.version} was trained on features {list(model_version.feature_names)}, "
                f"this code computes {list(FEATURE_NAMES)}; retrain it or deploy matching code."
            )
        weights = (model_version.params or {}).get("ensemble_weights") or {}
        if not set(COMPONENTS) <= set(weights) <= set(ALL_COMPONENTS):
            raise ModelArtifactError(
                f"Model v{model_version.version}: params.ensemble_weights must name both detectors "
                "(and the supervised classifier only if the version has one)."
            )
        components = tuple(name for name in ALL_COMPONENTS if name in weights)
        reference = model_version.score_reference
        if not isinstance(reference, dict) or any(k not in reference for k in (*components, "ensemble")):
            raise ModelArtifactError(f"Model v{model_version.version}: score_reference lacks a detector's quantiles.")
        reference = {k: np.asarray(reference[k], dtype=np.float64) for k in (*components, "ensemble")}
        if any(r.ndim != 1 or len(r) < 2 or np.any(np.diff(r) <= 0) for r in reference.values()):
            raise ModelArtifactError(f"Model v{model_version.version}: score references must be increasing.")
        thresholds = [float(model_version.thresholds_in_force[name]) for name in RISK_THRESHOLDS]
        if not 0 <= thresholds[0] <= thresholds[1] <= thresholds[2] <= 1:
            raise ModelArtifactError(
                f"Model v{model_version.version}: thresholds must satisfy 0 <= medium <= high <= critical <= 1."
            )
        self.model_version = model_version
        self.key = (model_version.pk, model_version.artifact_sha256, model_version.calibrated_at)
        self.session = make_session(artifact)
        self.score_reference = reference
        self.components = components
        self.weights = {k: float(weights[k]) for k in components}
        self.thresholds = dict(zip(RISK_THRESHOLDS, thresholds, strict=True))
        self._cuts = np.array(thresholds)

    def raw_scores(self, features: np.ndarray) -> dict[str, np.ndarray]:
        if features.ndim != 2 or features.shape[1] != len(FEATURE_NAMES):
            raise ValueError(f"features must have shape (n, {len(FEATURE_NAMES)}), got {features.shape}")
        return raw_component_scores(self.session, features, self.components)

    def normalise(self, raw: dict[str, np.ndarray]) -> np.ndarray:
        combined = combine_scores(raw, self.score_reference, self.weights)
        return normalise_scores(combined, self.score_reference["ensemble"])

    def risk_levels(self, scores: np.ndarray) -> np.ndarray:
        """RiskLevel values (numpy str array): at or above a threshold is that level."""
        return _LEVELS[np.searchsorted(self._cuts, scores, side="right")]

    def flagged(self, scores: np.ndarray) -> np.ndarray:
        return np.asarray(scores) >= self.thresholds[FLAG_THRESHOLD]

    def score(self, features: np.ndarray) -> np.ndarray:
        """Normalised 0..1 ensemble scores for a feature matrix."""
        return self.normalise(self.raw_scores(features))


# Scorers loaded by this process, by (model version id, artifact hash, last recalibration): every
# organisation's champion and the challengers of running experiments. The hash is part of the key because
# ids can be reused (SQLite after a rollback); a recalibration loads the version again with its new
# thresholds. Bounded: a version no one scores any more is dropped with the rest when it is full.
_scorers: dict[tuple, Scorer] = {}
_scorers_lock = threading.Lock()
SCORERS_KEPT = 64


def champion_scorer() -> Scorer:
    """The current organisation's champion's Scorer, loaded once per process and reloaded when another model
    is promoted.

    Each call costs one small query (champion id and artifact hash, never the artifact itself); the
    artifact is fetched, verified and loaded only when the champion changed.
    """
    return champion_scorer_for(champion_key())


def champion_scorer_for(key: tuple | None) -> Scorer:
    """champion_scorer() for a champion key (id, artifact hash, last recalibration) the caller read itself
    (None: no champion)."""
    if key is None:
        raise NoChampionModel("No champion model is registered: train one with `manage.py train_model`.")
    return _scorer(key)


def champion_key() -> tuple | None:
    """The current organisation's champion's (id, artifact hash, last recalibration), or None (one small query)."""
    champions = ModelVersion.objects.filter(status=ModelVersion.Status.CHAMPION).order_by("pk")
    return champions.values_list("id", "artifact_sha256", "calibrated_at").first()


def scorer_for(model_version: ModelVersion) -> Scorer:
    """A Scorer for any version (a challenger), cached per process by id and artifact hash.

    `model_version` may come with its artifact deferred: it is then fetched once, on the first use.
    """
    return _scorer((model_version.pk, model_version.artifact_sha256, model_version.calibrated_at))


def _scorer(key: tuple) -> Scorer:
    scorer = _scorers.get(key)
    if scorer is not None:
        return scorer
    with _scorers_lock:
        # Another thread may have loaded it while this one waited for the lock.
        scorer = _scorers.get(key)
        if scorer is None:
            if len(_scorers) >= SCORERS_KEPT:
                _scorers.clear()
            scorer = _scorers[key] = _load_scorer(key[0])
    return scorer


def _load_scorer(pk: int) -> Scorer:
    return Scorer(ModelVersion.objects.for_all_organisations().get(pk=pk))


def reset_champion_cache() -> None:
    """Forget the loaded models (tests; a process that wants to free the sessions)."""
    with _scorers_lock:
        _scorers.clear()
