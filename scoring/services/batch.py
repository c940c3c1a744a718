"""Scoring a batch: history, features, the ensemble (champion, or challenger for the experiment's arm), rules."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from kernel.instances import unsaved
from kernel.tracing import span
from scoring.arms import ARM_CHALLENGER, arms_for_accounts
from scoring.features import build_feature_frame
from scoring.history import AccountHistory, load_history
from scoring.inference import Scorer, champion_key, champion_scorer_for, scorer_for
from scoring.metrics import observe_batch_scored
from scoring.models import Decision, Experiment, ModelVersion, Rule, Transaction
from scoring.rule_engine import evaluate_rules


@dataclass
class BatchScore:
    model_version: ModelVersion  # the champion (the batch's audit entry names it)
    scores: np.ndarray  # 0..1 per transaction, higher = more anomalous
    risk_levels: list[str]  # RiskLevel values, after rules
    flagged: np.ndarray  # bool: the model's HIGH threshold, a flag rule, or a rule raising to HIGH+
    latency_ms: float  # per item: the batch's history + features + model + rules time divided by its size
    features: np.ndarray  # the model's input, one row per transaction
    rule_hits: list[list[dict]] = field(default_factory=list)
    arms: list[str] = field(default_factory=list)  # experiment arm per row ("" without an experiment)
    model_versions: list[ModelVersion] = field(default_factory=list)  # the version that scored each row

    def decisions(self, transactions: Sequence[Transaction], *, created_at) -> list[Decision]:
        """Unsaved Decisions for `transactions` (saved, so each has its id), in the same order.

        Built without Model.__init__ (kernel.instances): ~0.4 s less for 10,000.
        """
        n = len(transactions)
        versions = self.model_versions or [self.model_version] * n
        arms = self.arms or [""] * n
        hits = self.rule_hits or [[] for _ in range(n)]
        features = np.round(self.features.astype(np.float64), 6).tolist()
        scores, flagged = self.scores.tolist(), self.flagged.tolist()
        return [
            unsaved(
                Decision,
                {
                    "transaction_id": txn.pk,
                    "organisation_id": txn.organisation_id,
                    "model_version_id": versions[i].pk,
                    "score": scores[i],
                    "risk_level": self.risk_levels[i],
                    "flagged": flagged[i],
                    "rule_hits": hits[i],
                    "explanation": None,
                    "features": features[i],
                    "arm": arms[i],
                    "latency_ms": self.latency_ms,
                    "created_at": created_at,
                },
                {"transaction": txn, "model_version": versions[i]},
            )
            for i, txn in enumerate(transactions)
        ]


def batch_score(*, transactions: Sequence[Transaction]) -> BatchScore:
    """Score a batch in a constant number of queries: champion key, active experiment, rules, history (3).

    Raises scoring.inference.NoChampionModel when no model is promoted.
    """
    return batch_prepare(transactions=transactions).score()


@dataclass(frozen=True)
class PreparedBatch:
    """Everything scoring a batch reads from the database, read; `score()` then runs without it.

    So ingestion times the reads and the model apart (Server-Timing's `reads` and `score`).
    """

    transactions: Sequence[Transaction]
    champion: Scorer
    challenger: Scorer | None
    experiment: Experiment | None
    history: AccountHistory
    rules: list[Rule]
    history_ms: float  # reading the accounts' history (ingestion reports it in Server-Timing)

    def score(self) -> BatchScore:
        """The batch's scores, levels, flags and rule hits: CPU only (numpy, ONNX Runtime), no queries."""
        started = time.perf_counter()
        transactions, champion = self.transactions, self.champion
        n = len(transactions)
        with span("scoring.features", items=n):
            frame = build_feature_frame(transactions, self.history)
        with span("scoring.model", items=n, model_version=champion.model_version.version):
            scores, levels, flagged, versions, arms = self._model_scores(frame.matrix)
        with span("scoring.rules", items=n, rules=len(self.rules)):
            outcome = evaluate_rules(self.rules, frame, levels, flagged)
        score_ms = (time.perf_counter() - started) * 1000
        observe_batch_scored(items=n, seconds=(self.history_ms + score_ms) / 1000)
        return BatchScore(
            model_version=champion.model_version,
            scores=scores,
            risk_levels=outcome.risk_levels.tolist(),
            flagged=outcome.flagged,
            latency_ms=(self.history_ms + score_ms) / max(n, 1),
            features=frame.matrix,
            rule_hits=outcome.hits,
            arms=[arm or "" for arm in arms] if self.experiment else [],
            model_versions=versions,
        )

    def _model_scores(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, list, list]:
        """Scores, risk levels, flags, model version and experiment arm per row: the champion's, or the
        challenger's for the rows of the active experiment's challenger arm."""
        champion, challenger, experiment = self.champion, self.challenger, self.experiment
        n = len(self.transactions)
        scores = champion.score(matrix) if n else np.empty(0)
        levels, flagged = champion.risk_levels(scores), champion.flagged(scores)
        versions = [champion.model_version] * n
        arms = [""] * n
        if experiment is not None and n:
            arms = arms_for_accounts([t.account_id for t in self.transactions], experiment)
            challenger_rows = np.flatnonzero(np.array(arms) == ARM_CHALLENGER)
            if len(challenger_rows):
                # Each row against its own model's thresholds.
                scores[challenger_rows] = challenger.score(matrix[challenger_rows])
                levels[challenger_rows] = challenger.risk_levels(scores[challenger_rows])
                flagged[challenger_rows] = challenger.flagged(scores[challenger_rows])
                for row in challenger_rows.tolist():
                    versions[row] = challenger.model_version
        return scores, levels, flagged, versions, arms


def batch_prepare(*, transactions: Sequence[Transaction]) -> PreparedBatch:
    """The reads of batch_score: champion key, active experiment (and its challenger), history, rules.

    Raises scoring.inference.NoChampionModel when no model is promoted.
    """
    champion = champion_scorer_for(champion_key())
    experiment, challenger = _experiment_and_challenger()
    rules = list(Rule.objects.filter(is_active=True))
    started = time.perf_counter()
    history = load_history(transactions)
    history_ms = (time.perf_counter() - started) * 1000
    return PreparedBatch(
        transactions=transactions,
        champion=champion,
        challenger=challenger,
        experiment=experiment,
        history=history,
        rules=rules,
        history_ms=history_ms,
    )


def _experiment_and_challenger() -> tuple[Experiment | None, Scorer | None]:
    experiment = Experiment.objects.filter(is_active=True).first()  # at most one is active (a constraint)
    if experiment is None:
        return None, None
    # The artifact is read only if this process has not loaded this version yet (scorer_for).
    version = ModelVersion.objects.defer("artifact", "explainer_artifact").get(pk=experiment.challenger_id)
    return experiment, scorer_for(version)
