"""The one ingest pipeline every source uses: validate, de-duplicate, score, store, hand off, publish."""

import hashlib
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from audit.services import AuditEntry, audit_log, audit_log_many
from delivery.services import outbox_append_decisions
from ingestion.validation import ItemError, ValidItem, validate_items
from kernel.arrays import text_array
from kernel.instances import unsaved
from kernel.timing import timed
from organisations.context import organisation_context
from scoring.models import Decision, Label, ModelVersion, Transaction
from scoring.services import BatchScore, StoredBatch, batch_prepare, batch_store

logger = logging.getLogger(__name__)

# A concurrent request may insert the same (source, external_id) between our duplicate check and
# our insert; the unique constraint catches it and we redo the batch, which then reports what the other
# writer stored as duplicates. Each failed attempt means another writer stored some of the batch first,
# so with N concurrent writers of overlapping batches at most N-1 can get ahead of it. PostgreSQL may
# also end the transaction to break a deadlock with another writer, and SQLite (one writer at a time)
# answers "database is locked" once its busy timeout passes: redone the same way, after a short pause.
MAX_ATTEMPTS = 10
RETRY_PAUSE_S = 0.02  # times the attempt, jittered: concurrent losers do not come back in lockstep
_RETRIED_SQLSTATES = ("40P01", "40001")  # deadlock_detected, serialization_failure
_STORED_SQL = (
    "SELECT t.id, t.external_id, d.score, d.risk_level, d.flagged, m.version "  # noqa: S608 (table names)
    f"FROM {Transaction._meta.db_table} t "
    f"LEFT JOIN {Decision._meta.db_table} d ON d.transaction_id = t.id "
    f"LEFT JOIN {ModelVersion._meta.db_table} m ON m.id = d.model_version_id "
    "WHERE t.organisation_id = %s AND t.external_id = ANY(%s::text[]) AND t.source = %s"
)


@dataclass
class IngestResult:
    accepted: int = 0
    flagged: int = 0
    duplicates: list[dict] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)
    # The batch index of each entry of `decisions` (ascending; not sent: clients match by external_id).
    stored_indexes: list[int] = field(default_factory=list)
    # Wall time per stage in ms: validate, duplicates, reads (the scoring inputs, of which history), score
    # (the model), transaction (of which insert, profiles, receivers, outbox, audit; the rest is the
    # commit), total: the API sends it as a Server-Timing header, bench/ingest.py --stages prints it.
    timings_ms: dict[str, float] = field(default_factory=dict)

    def timed(self, stage: str):
        """A context manager adding the block's wall time to `timings_ms[stage]`, and a span "ingest.<stage>"."""
        return timed(self.timings_ms, stage, span=f"ingest.{stage}")

    def part(self, start: int, stop: int) -> "IngestResult":
        """The result of `records[start:stop]` of this batch, indexed from 0 (see ingestion.services.coalescing).

        An item that repeats one of another part is that part's transaction: it is reported as stored
        before, with the decision the other part's item got.
        """
        decision_at = {
            index: {key: summary[key] for key in _STORED_DECISION_KEYS}
            for index, summary in zip(self.stored_indexes, self.decisions, strict=True)
        }
        decision_at.update((d["index"], d["decision"]) for d in self.duplicates if "decision" in d)
        part = IngestResult(timings_ms=dict(self.timings_ms))
        part.errors = [ItemError(e.index - start, e.field, e.message) for e in self.errors if start <= e.index < stop]
        for duplicate in self.duplicates:
            if not start <= duplicate["index"] < stop:
                continue
            moved = {**duplicate, "index": duplicate["index"] - start}
            first = duplicate.get("duplicate_of_index")
            if first is not None and start <= first < stop:
                moved["duplicate_of_index"] = first - start
            elif first is not None:
                del moved["duplicate_of_index"]
                moved["decision"] = decision_at[first]
            part.duplicates.append(moved)
        for index, summary in zip(self.stored_indexes, self.decisions, strict=True):
            if start <= index < stop:
                part.stored_indexes.append(index - start)
                part.decisions.append(summary)
        part.accepted = len(part.decisions)
        part.flagged = sum(1 for summary in part.decisions if summary["flagged"])
        return part

    def as_dict(self) -> dict:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "flagged": self.flagged,
            "errors": [e.as_dict() for e in self.errors],
            "decisions": self.decisions,
        }


def ingest(records: Sequence, *, organisation, source: str, actor) -> IngestResult:
    """Score and store a batch of transactions of `organisation` from `source`; a single transaction is a batch
    of one. Everything it reads (history, the champion, rules) and writes is the organisation's."""
    with organisation_context(organisation):
        return _ingest(records, organisation=organisation, source=source, actor=actor)


def _ingest(records: Sequence, *, organisation, source: str, actor) -> IngestResult:
    started = time.perf_counter()
    result = IngestResult()
    with result.timed("validate"):
        valid, result.errors = validate_items(list(records))
    fresh = _drop_batch_duplicates(valid, result)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            _ingest_valid(fresh, organisation_id=organisation.pk, source=source, actor=actor, result=result)
            break
        except (IntegrityError, OperationalError) as exc:
            if attempt == MAX_ATTEMPTS or not _worth_retrying(exc):
                raise
            reason = type(exc.__cause__ or exc).__name__
            logger.info("ingest: %s for source %s, retrying (attempt %d)", reason, source, attempt)
            time.sleep(random.uniform(0, RETRY_PAUSE_S * attempt))
    if result.errors or result.duplicates:
        audit_log(
            actor=actor,
            action="ingest.rejected_items",
            object_type="source",
            object_id=source,
            payload={"errors": len(result.errors), "duplicates": len(result.duplicates)},
        )
    result.timings_ms["total"] = (time.perf_counter() - started) * 1000
    return result


def _worth_retrying(exc: Exception) -> bool:
    """A concurrent insert of the same transaction, a deadlock/serialization failure PostgreSQL broke, or
    SQLite still busy with another writer."""
    if isinstance(exc, IntegrityError):
        return True
    return getattr(exc.__cause__, "sqlstate", None) in _RETRIED_SQLSTATES or "database is locked" in str(exc)


def _drop_batch_duplicates(valid: list[ValidItem], result: IngestResult) -> list[ValidItem]:
    seen: dict[str, int] = {}
    fresh = []
    for item in valid:
        first = seen.setdefault(item.data.external_id, item.index)
        if first != item.index:
            result.duplicates.append(
                {"index": item.index, "external_id": item.data.external_id, "duplicate_of_index": first}
            )
        else:
            fresh.append(item)
    return fresh


def _ingest_valid(items: list[ValidItem], *, organisation_id: int, source: str, actor, result: IngestResult) -> None:
    result.accepted, result.flagged, result.decisions, result.stored_indexes = 0, 0, [], []
    result.duplicates = [d for d in result.duplicates if "duplicate_of_index" in d]
    if not items:
        return
    with result.timed("duplicates"):
        items = _drop_stored_duplicates(items, organisation_id=organisation_id, source=source, result=result)
    if not items:
        return
    now = timezone.now()
    transactions = [
        unsaved_transaction(item, organisation_id=organisation_id, source=source, received_at=now) for item in items
    ]
    with result.timed("reads"):
        prepared = batch_prepare(transactions=transactions)
    result.timings_ms["history"] = prepared.history_ms
    with result.timed("score"):  # before the transaction: it holds the writes only
        score = prepared.score()
    with result.timed("transaction"), transaction.atomic():
        stored = batch_store(transactions=transactions, score=score, actor=actor, created_at=now)
        with result.timed("outbox"):
            outbox_append_decisions(
                decisions=stored.decisions, case_references=stored.case_references, source=source, created_at=now
            )
        with result.timed("audit"):
            audit_log_many([_batch_audit_entry(actor, source, stored)])
    for stage, ms in stored.timings_ms.items():
        result.timings_ms[stage] = result.timings_ms.get(stage, 0.0) + ms
    result.accepted = len(stored.decisions)
    result.flagged = sum(1 for d in stored.decisions if d.flagged)
    version_of = _versions_by_id(stored.score)
    references = stored.case_references
    result.decisions = [
        _decision_summary(txn, d, version_of[d.model_version_id], references.get(txn.pk))
        for txn, d in zip(transactions, stored.decisions, strict=True)
    ]
    result.stored_indexes = [item.index for item in items]


def _versions_by_id(scored: BatchScore) -> dict[int, int]:
    """Model version id -> version number, for the versions that scored the batch."""
    # model_versions holds one entry per row (the champion's or the challenger's object): distinct by
    # identity, since a set of model instances calls Model.__hash__ per row (~9 ms for 10,000 rows).
    distinct = {id(v): v for v in scored.model_versions}
    return {v.pk: v.version for v in (scored.model_version, *distinct.values())}


def _drop_stored_duplicates(
    items: list[ValidItem], *, organisation_id: int, source: str, result: IngestResult
) -> list[ValidItem]:
    """One query finds every item already stored for this organisation and source, with its existing decision."""
    external_ids = [item.data.external_id for item in items]
    if connection.vendor == "postgresql":
        # One array literal instead of 10,000 parameters (their adaptation cost ~250 ms; see text_array).
        with connection.cursor() as cursor:
            cursor.execute(_STORED_SQL, [organisation_id, text_array(external_ids), source])
            rows = cursor.fetchall()
    else:
        stored = Transaction.objects.for_organisation(organisation_id)
        rows = stored.filter(source=source, external_id__in=external_ids).values_list(
            "id",
            "external_id",
            "decision__score",
            "decision__risk_level",
            "decision__flagged",
            "decision__model_version__version",
        )
    stored = {row[1]: row for row in rows}
    if not stored:
        return items
    fresh = []
    for item in items:
        row = stored.get(item.data.external_id)
        if row is None:
            fresh.append(item)
            continue
        transaction_id, external_id, score, risk_level, flagged, model_version = row
        result.duplicates.append(
            {
                "index": item.index,
                "external_id": external_id,
                "decision": {
                    "transaction_id": transaction_id,
                    "score": score,
                    "risk_level": risk_level,
                    "flagged": flagged,
                    "model_version": model_version,
                },
            }
        )
    return fresh


def unsaved_transaction(item: ValidItem, *, organisation_id: int, source: str, received_at: datetime) -> Transaction:
    """The Transaction a validated item becomes, not saved (the pipeline stores it by COPY)."""
    data = item.data
    return unsaved(
        Transaction,
        {
            "id": None,
            "organisation_id": organisation_id,
            "source": source,
            "external_id": data.external_id,
            "account_id": data.account_id,
            "amount": data.amount,
            "currency": data.currency,
            "occurred_at": data.timestamp,
            "merchant_id": data.merchant_id,
            "merchant_category": data.merchant_category,
            "country": data.country,
            "channel": data.channel,
            "metadata": data.metadata,
            "received_at": received_at,
            "label": Label.UNKNOWN.value,
        },
    )


def _decision_summary(txn: Transaction, decision: Decision, version: int, case_reference: str | None) -> dict:
    """What the ingest response says of each stored decision (`txn` its transaction, `version` its model's).

    The caller passes what the decision's foreign keys lead to: for 10,000 decisions, reading them through
    Django's related-object descriptors was a noticeable part of building the response.
    """
    return {
        "transaction_id": txn.pk,
        "external_id": txn.external_id,
        "score": round(decision.score, 6),
        "risk_level": decision.risk_level,
        "flagged": decision.flagged,
        "model_version": version,
        "case_reference": case_reference,
    }


# The decision a duplicate is reported with (as _drop_stored_duplicates reads it back).
_STORED_DECISION_KEYS = ("transaction_id", "score", "risk_level", "flagged", "model_version")


def _batch_audit_entry(actor, source: str, stored: StoredBatch) -> AuditEntry:
    """One audit event per batch; its digest ties every stored decision (in the batch's order) to the chain."""
    digest = hashlib.sha256()
    decisions = stored.decisions
    for txn, d in zip(stored.transactions, decisions, strict=True):
        digest.update(f"{txn.pk}|{txn.external_id}|{d.score:.6f}|{d.risk_level}\n".encode())
    return AuditEntry(
        actor=actor,
        action="ingest.batch",
        object_type="source",
        object_id=source,
        payload={
            "accepted": len(decisions),
            "flagged": sum(1 for d in decisions if d.flagged),
            "first_transaction_id": decisions[0].transaction_id,
            "last_transaction_id": decisions[-1].transaction_id,
            "model_version": stored.score.model_version.version,
            "decisions_sha256": digest.hexdigest(),
        },
    )
