"""Scoring's business operations (the only code that writes scoring's tables), by concept:

batch.py        score a batch: features, ensemble, experiment arms, rules (profiles: the accounts' memory)
labels.py       ground-truth labels from case outcomes
registry.py     train, register, promote (four-eyes), roll back model versions
monitoring.py   drift reports and retraining
experiments.py  champion/challenger experiments
rules.py        rule changes (versioned and audited)
explanations.py SHAP explanations stored on decisions
"""

from scoring.profiles import profiles_record
from scoring.services.batch import BatchScore, PreparedBatch, prepare_batch, score_batch
from scoring.services.labels import record_labels
from scoring.services.registry import (
    SYNTHETIC_SOURCE,
    model_promote,
    model_rollback,
    model_train,
    promotion_approve,
    promotion_reject,
    promotion_request,
)

__all__ = [
    "SYNTHETIC_SOURCE",
    "BatchScore",
    "PreparedBatch",
    "model_promote",
    "model_rollback",
    "model_train",
    "prepare_batch",
    "profiles_record",
    "promotion_approve",
    "promotion_reject",
    "promotion_request",
    "record_labels",
    "score_batch",
]
