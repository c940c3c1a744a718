"""Scoring test wiring: a fresh champion cache per test, and small, fast training settings."""

import pytest

from scoring.inference import reset_champion_cache

# Enough traffic for every pattern to appear, small enough to train in well under a second.
SMALL_TRAINING = {"n_accounts": 150, "days": 7, "n_estimators": 20}


@pytest.fixture(autouse=True)
def _fresh_champion_cache():
    """The champion cache is process-wide; tests must not see each other's models."""
    reset_champion_cache()
    yield
    reset_champion_cache()
