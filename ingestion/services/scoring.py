"""Scoring transactions without storing them: what the ingest pipeline would decide, for a what-if."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils import timezone

from ingestion.services.pipeline import unsaved_transaction
from ingestion.validation import ItemError, validate_items
from organisations.context import organisation_context
from scoring.services import batch_score


@dataclass
class ScoredItem:
    index: int  # the item's position in the records given
    external_id: str
    score: float
    risk_level: str
    flagged: bool
    model_version: int
    rule_hits: list[dict]


@dataclass
class ScoreResult:
    scored: list[ScoredItem] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)


def transactions_score(records: Sequence, *, organisation, source: str) -> ScoreResult:
    """Validate and score `records` as `ingest` would (same validation, history, champion or experiment arm,
    rules) without storing anything: no transaction, decision, profile, case, outbox event or audit event.

    Raises scoring.inference.NoChampionModel when the organisation has no champion.
    """
    with organisation_context(organisation):
        valid, errors = validate_items(list(records))
        result = ScoreResult(errors=errors)
        if not valid:
            return result
        now = timezone.now()
        transactions = [
            unsaved_transaction(item, organisation_id=organisation.pk, source=source, received_at=now) for item in valid
        ]
        scored = batch_score(transactions=transactions)
        versions = scored.model_versions or [scored.model_version] * len(valid)
        hits = scored.rule_hits or [[] for _ in valid]
        for i, item in enumerate(valid):
            result.scored.append(
                ScoredItem(
                    index=item.index,
                    external_id=item.data.external_id,
                    score=round(float(scored.scores[i]), 6),
                    risk_level=scored.risk_levels[i],
                    flagged=bool(scored.flagged[i]),
                    model_version=versions[i].version,
                    rule_hits=hits[i],
                )
            )
        return result
