"""Drift measures: PSI and Kolmogorov-Smirnov per feature and on the score, against the training reference.

The reference is a quantile sketch of the training data (REFERENCE_POINTS values per feature), small
enough to live on the ModelVersion and good enough for both tests: PSI bins by its deciles, and KS
compares the recent window with the sketch read as a sample.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from scoring.features import FEATURE_NAMES

REFERENCE_POINTS = 200
PSI_BINS = 10
PSI_EPSILON = 1e-4  # an empty bin would make the log infinite
# Conventional PSI reading (credit-risk model monitoring): < 0.1 stable, 0.1-0.25 moderate, > 0.25 major.
PSI_MODERATE = 0.1
PSI_MAJOR = 0.25
KS_ALPHA = 0.01


# Decisions store their features rounded to 6 decimals (from float32); the reference is rounded the same
# way, or a float32 0.1 (0.10000000149) and a stored 0.1 would fall on opposite sides of a bin edge.
DECIMALS = 6


def drift_reference(X: np.ndarray, scores: np.ndarray) -> dict:
    levels = np.linspace(0, 1, REFERENCE_POINTS)
    X = np.round(np.asarray(X, dtype=np.float64), DECIMALS)
    return {
        "points": REFERENCE_POINTS,
        "n": len(X),
        "features": {name: np.quantile(X[:, i], levels).tolist() for i, name in enumerate(FEATURE_NAMES)},
        "score": np.quantile(np.asarray(scores, dtype=np.float64), levels).tolist(),
    }


def psi(reference: np.ndarray, values: np.ndarray, bins: int = PSI_BINS) -> float:
    """Population stability index of `values` against the reference sketch, binned by its quantiles."""
    reference = np.asarray(reference, np.float64)
    values = np.asarray(values, np.float64)
    distinct = np.unique(reference)
    if len(distinct) <= bins + 1:
        # A discrete feature (flags, risk tiers): one bin per value, or a dominant value hides the others.
        edges = (distinct[:-1] + distinct[1:]) / 2
    else:
        edges = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1))[1:-1])
    expected = np.bincount(np.searchsorted(edges, reference, "right"), minlength=len(edges) + 1) / len(reference)
    actual = np.bincount(np.searchsorted(edges, values, "right"), minlength=len(edges) + 1) / max(len(values), 1)
    expected, actual = np.maximum(expected, PSI_EPSILON), np.maximum(actual, PSI_EPSILON)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def ks(reference: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    result = stats.ks_2samp(np.asarray(reference, np.float64), np.asarray(values, np.float64))
    return float(result.statistic), float(result.pvalue)


def compare(reference: dict, X: np.ndarray, scores: np.ndarray) -> dict:
    """Per feature and for the score: PSI, KS statistic and p-value, and whether it drifted.

    A column drifted when its PSI is major (> 0.25), or moderate with a KS test rejecting equality at
    1%: KS alone rejects on tiny shifts once the window is large, PSI alone misses shape changes.
    """
    X = np.round(np.asarray(X, dtype=np.float64), DECIMALS)
    columns = {name: X[:, i] for i, name in enumerate(FEATURE_NAMES) if name in reference["features"]}
    results = {}
    for name, values in [*columns.items(), ("score", np.asarray(scores))]:
        ref = reference["score"] if name == "score" else reference["features"][name]
        value_psi = psi(ref, values)
        statistic, pvalue = ks(ref, values)
        results[name] = {
            "psi": round(value_psi, 4),
            "ks": round(statistic, 4),
            "ks_pvalue": float(f"{pvalue:.3g}"),
            "drifted": bool(value_psi > PSI_MAJOR or (value_psi > PSI_MODERATE and pvalue < KS_ALPHA)),
        }
    return results
