"""Champion/challenger experiments: stable routing of accounts to arms, and the arms' statistics.

Routing hashes (experiment salt, account_id) with BLAKE2b into [0, 1): an account always lands in the
same arm for the life of an experiment, whatever process or batch scores it, and a new experiment
(new salt) reshuffles accounts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from scipy import stats

ARM_CHAMPION = "champion"
ARM_CHALLENGER = "challenger"
SIGNIFICANCE = 0.05


def bucket(salt: str, account_id: str) -> float:
    digest = hashlib.blake2b(f"{salt}:{account_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def arm_for(salt: str, account_id: str, challenger_share: float) -> str:
    return ARM_CHALLENGER if bucket(salt, account_id) < challenger_share else ARM_CHAMPION


def arms_for_accounts(account_ids: Sequence[str], experiment) -> list[str]:
    """Arm per row; each distinct account is hashed once per batch."""
    cache: dict[str, str] = {}
    arms = []
    for account in account_ids:
        arm = cache.get(account)
        if arm is None:
            arm = cache[account] = arm_for(experiment.salt, account, experiment.challenger_share)
        arms.append(arm)
    return arms


def chi_squared(table: list[list[int]]) -> dict:
    """Chi-squared test of independence on a 2x2 table [[a, b], [c, d]] (rows = arms)."""
    observed = np.asarray(table, dtype=np.float64)
    if observed.shape != (2, 2) or (observed.sum(axis=1) == 0).any() or (observed.sum(axis=0) == 0).any():
        return {"chi2": None, "p_value": None, "significant": False, "table": table}
    chi2, p_value, _dof, _expected = stats.chi2_contingency(observed)
    return {
        "chi2": round(float(chi2), 4),
        "p_value": float(f"{p_value:.4g}"),
        "significant": bool(p_value < SIGNIFICANCE),
        "table": table,
    }
