import numpy as np

from scoring.drift import compare, drift_reference, psi
from scoring.features import FEATURE_NAMES


def _traffic(rng, n, shift=0.0):
    X = rng.normal(0, 1, (n, len(FEATURE_NAMES))).astype(np.float32)
    X[:, 0] += shift
    return X


def test_drift_detects_a_shifted_feature_and_not_an_unshifted_one():
    rng = np.random.default_rng(1)
    reference = drift_reference(_traffic(rng, 5000), rng.uniform(0, 1, 5000))
    same = compare(reference, _traffic(rng, 500), rng.uniform(0, 1, 500))
    shifted = compare(reference, _traffic(rng, 500, shift=1.0), rng.uniform(0.3, 1, 500))
    assert not any(r["drifted"] for r in same.values())
    assert shifted[FEATURE_NAMES[0]]["drifted"] and shifted[FEATURE_NAMES[0]]["psi"] > 0.25
    assert shifted["score"]["drifted"]
    assert not any(r["drifted"] for name, r in shifted.items() if name not in (FEATURE_NAMES[0], "score"))


def test_psi_is_zero_for_the_same_distribution_and_grows_with_the_shift():
    rng = np.random.default_rng(2)
    reference = rng.normal(0, 1, 10_000)
    small, large = psi(reference, rng.normal(0.2, 1, 2000)), psi(reference, rng.normal(1.0, 1, 2000))
    assert psi(reference, rng.normal(0, 1, 2000)) < 0.02 < small < large
