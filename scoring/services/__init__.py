"""Scoring's business operations (the only code that writes scoring's tables), by concept:

batch.py        score a batch: features, ensemble, experiment arms, rules
storing.py      store a scored batch: transactions, profiles (the accounts' memory), decisions
labels.py       ground-truth labels from case outcomes
registry.py     train, register, promote (four-eyes), roll back model versions
monitoring.py   drift reports and retraining
calibration.py  thresholds recalibrated to the alert budget (four-eyes beyond the bound)
experiments.py  champion/challenger experiments
rules.py        rule changes (versioned and audited)
rule_drafts.py  drafted rules: backtest on stored history, maker-checker activation
explanations.py SHAP explanations stored on decisions
"""

from scoring.services.batch import BatchScore, PreparedBatch, batch_prepare, batch_score
from scoring.services.labels import record_labels
from scoring.services.registry import (
    SYNTHETIC_SOURCE,
    model_install_default,
    model_promote,
    model_rollback,
    model_train,
    promotion_request,
)
from scoring.services.storing import StoredBatch, batch_store

__all__ = [
    "SYNTHETIC_SOURCE",
    "BatchScore",
    "PreparedBatch",
    "StoredBatch",
    "batch_prepare",
    "batch_score",
    "batch_store",
    "model_install_default",
    "model_promote",
    "model_rollback",
    "model_train",
    "promotion_request",
    "record_labels",
]
