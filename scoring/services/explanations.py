"""Explanations stored on decisions: flagged ones after each ingest (a task), others on demand."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from django.db import transaction
from django.db.models import Q

from kernel.tracing import span
from scoring.explainer import explain_rows, explainer_for
from scoring.models import Decision, ModelVersion

EXPLAIN_CHUNK = 500


def decisions_explain(*, transaction_ids: Sequence[int]) -> int:
    """Fill `explanation` on these decisions where it is missing; idempotent. Returns how many were filled."""
    filled = 0
    ids = sorted({int(i) for i in transaction_ids})
    versions: dict[int, ModelVersion] = {}
    for start in range(0, len(ids), EXPLAIN_CHUNK):
        pending = list(
            Decision.objects.filter(transaction_id__in=ids[start : start + EXPLAIN_CHUNK])
            # SQL NULL, or JSON null (ingestion's COPY path writes None as JSON null on PostgreSQL)
            .filter(Q(explanation__isnull=True) | Q(explanation=None))
            .exclude(features__isnull=True)
            .only("transaction_id", "model_version_id", "features")
        )
        by_version: dict[int, list[Decision]] = {}
        for decision in pending:
            by_version.setdefault(decision.model_version_id, []).append(decision)
        for version_id, decisions in by_version.items():
            if version_id not in versions:  # its explainer's trees are read only if this process has none built
                versions[version_id] = ModelVersion.objects.defer(*ModelVersion.HEAVY_FIELDS).get(pk=version_id)
            version = versions[version_id]
            if explainer_for(version) is None:
                continue
            with span("scoring.explain", items=len(decisions), model_version=version.version):  # SHAP
                explanations = explain_rows(version, np.asarray([d.features for d in decisions], dtype=np.float32))
            for decision, explanation in zip(decisions, explanations, strict=True):
                decision.explanation = explanation
            with transaction.atomic():
                Decision.objects.bulk_update(decisions, ["explanation"])
            filled += len(decisions)
    return filled


def decision_explanation(*, decision: Decision) -> dict | None:
    """The decision's explanation, computed and stored now if it has none yet."""
    if decision.explanation is None:
        decisions_explain(transaction_ids=[decision.transaction_id])
        decision.refresh_from_db(fields=["explanation"])
    return decision.explanation
