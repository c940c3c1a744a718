"""The one ingest pipeline every source uses: validate, de-duplicate, score, store, hand off, publish."""

import gc
import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from audit.services import AuditEntry, audit_log, audit_log_many
from ingestion.models import OutboxEvent
from ingestion.services.outbox import append_events, append_events_by_query
from ingestion.validation import ItemError, ValidItem, validate_items
from kernel.arrays import text_array
from kernel.bulk import bulk_insert
from kernel.instances import unsaved
from scoring.models import Decision, Label, ModelVersion, Transaction
from scoring.services import BatchScore, PreparedBatch, prepare_batch, profiles_record
from scoring.signals import DecisionsStoredReply, decisions_stored

logger = logging.getLogger(__name__)

DECISION_CREATED = "decision.created"
# A concurrent request may insert the same (source, external_id) between our duplicate check and
# our insert; the unique constraint catches it and we redo the batch, which then sees duplicates.
# PostgreSQL may also end the batch's transaction to break a deadlock with another writer (say, one
# holding an account's profile row and inserting one of the batch's transactions): redone the same way.
MAX_ATTEMPTS = 3
_RETRIED_SQLSTATES = ("40P01", "40001")  # deadlock_detected, serialization_failure
_STORED_SQL = (
    "SELECT t.id, t.external_id, d.score, d.risk_level, d.flagged, m.version "  # noqa: S608 (table names)
    f"FROM {Transaction._meta.db_table} t "
    f"LEFT JOIN {Decision._meta.db_table} d ON d.transaction_id = t.id "
    f"LEFT JOIN {ModelVersion._meta.db_table} m ON m.id = d.model_version_id "
    "WHERE t.source = %s AND t.external_id = ANY(%s::text[])"
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
    # (the model; on a helper thread for big batches, overlapping the transaction's first stages),
    # transaction (of which insert, profiles, score_wait, receivers, outbox, audit; the rest is the
    # commit), total:
    # the API sends it as a Server-Timing header, bench/ingest.py --stages prints it.
    timings_ms: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings_ms[stage] = self.timings_ms.get(stage, 0.0) + (time.perf_counter() - started) * 1000

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


def ingest(records: Sequence, *, source: str, actor) -> IngestResult:
    """Score and store a batch of transactions from `source`; a single transaction is a batch of one."""
    if len(records) < GC_PAUSE_MIN_ITEMS:
        return _ingest(records, source=source, actor=actor)
    with _gc_paused():
        return _ingest(records, source=source, actor=actor)


# Only big batches pause the collector: they are where its passes cost, and small requests arriving
# back to back from many threads must not keep it off for good.
GC_PAUSE_MIN_ITEMS = 1000
_gc_lock = threading.Lock()
_gc_pausers = 0
_gc_was_enabled = True


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a batch runs (shared by concurrent requests in one process).

    A 10,000-item batch allocates ~1M objects; the collector's full passes over them measured
    ~0.3-0.5 s per batch. What the batch leaves behind is collected once the last batch finishes.
    """
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        if _gc_pausers == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pausers += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


def _ingest(records: Sequence, *, source: str, actor) -> IngestResult:
    started = time.perf_counter()
    result = IngestResult()
    with result.timed("validate"):
        valid, result.errors = validate_items(list(records))
    fresh = _drop_batch_duplicates(valid, result)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            _ingest_valid(fresh, source=source, actor=actor, result=result)
            break
        except (IntegrityError, OperationalError) as exc:
            if attempt == MAX_ATTEMPTS or not _worth_retrying(exc):
                raise
            reason = type(exc.__cause__ or exc).__name__
            logger.info("ingest: %s for source %s, retrying (attempt %d)", reason, source, attempt)
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
    """A concurrent insert of the same transaction, or a deadlock/serialization failure PostgreSQL broke."""
    return isinstance(exc, IntegrityError) or getattr(exc.__cause__, "sqlstate", None) in _RETRIED_SQLSTATES


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


def _ingest_valid(items: list[ValidItem], *, source: str, actor, result: IngestResult) -> None:
    result.accepted, result.flagged, result.decisions, result.stored_indexes = 0, 0, [], []
    result.duplicates = [d for d in result.duplicates if "duplicate_of_index" in d]
    if not items:
        return
    with result.timed("duplicates"):
        items = _drop_stored_duplicates(items, source=source, result=result)
    if not items:
        return
    now = timezone.now()
    transactions = [_transaction_from(item, source=source, received_at=now) for item in items]
    with result.timed("reads"):
        prepared = prepare_batch(transactions)
    result.timings_ms["history"] = prepared.history_ms
    scoring = _start_scoring(prepared, result)
    try:
        with result.timed("transaction"), transaction.atomic():
            with result.timed("insert"):
                bulk_insert(Transaction, transactions)
            with result.timed("profiles"):
                profiles_record(transactions)
            with result.timed("score_wait"):
                scored = scoring.result()
            with result.timed("insert"):
                decisions = scored.decisions(transactions, created_at=now)
                bulk_insert(Decision, decisions)
            with result.timed("receivers"):
                reply = _merge_replies(decisions_stored.send(sender=Decision, decisions=decisions, actor=actor))
            with result.timed("outbox"):
                _append_decision_events(decisions, reply.case_references, source=source, created_at=now)
                append_events(reply.events, created_at=now)
            with result.timed("audit"):
                batch_entry = _batch_audit_entry(actor, source, transactions, decisions, scored.model_version.version)
                audit_log_many([*reply.audit_entries, batch_entry])
    finally:
        futures.wait([scoring])  # a failed transaction leaves no scoring behind it on the helper thread
    result.accepted = len(decisions)
    result.flagged = sum(1 for d in decisions if d.flagged)
    version_of = _versions_by_id(scored)
    references = reply.case_references
    result.decisions = [
        _decision_summary(txn, d, version_of[d.model_version_id], references.get(txn.pk))
        for txn, d in zip(transactions, decisions, strict=True)
    ]
    result.stored_indexes = [item.index for item in items]


def _versions_by_id(scored: BatchScore) -> dict[int, int]:
    """Model version id -> version number, for the versions that scored the batch."""
    # model_versions holds one entry per row (the champion's or the challenger's object): distinct by
    # identity, since a set of model instances calls Model.__hash__ per row (~9 ms for 10,000 rows).
    distinct = {id(v): v for v in scored.model_versions}
    return {v.pk: v.version for v in (scored.model_version, *distinct.values())}


# From this many items the batch is scored on a helper thread while this one writes its transactions and
# the accounts' profiles (neither needs the scores): the database's work and the model's overlap, on two
# cores. Smaller batches score first, so their transaction (and the locks it takes) stays short.
BACKGROUND_SCORING_MIN_ITEMS = 1000
_scoring_threads = futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="ingest-score")


def _start_scoring(prepared: PreparedBatch, result: IngestResult) -> futures.Future:
    """The batch's scores, as a future: computed on a helper thread for big batches, here for small ones.

    PreparedBatch.score() reads nothing from the database, so the helper needs no connection of its own.
    """

    def score() -> BatchScore:
        with result.timed("score"):
            return prepared.score()

    if len(prepared.transactions) >= BACKGROUND_SCORING_MIN_ITEMS:
        return _scoring_threads.submit(score)
    done: futures.Future = futures.Future()
    done.set_result(score())  # a failure raises here, before the transaction begins
    return done


def _drop_stored_duplicates(items: list[ValidItem], *, source: str, result: IngestResult) -> list[ValidItem]:
    """One query finds every item already stored for this source, with its existing decision."""
    external_ids = [item.data.external_id for item in items]
    if connection.vendor == "postgresql":
        # One array literal instead of 10,000 parameters (their adaptation cost ~250 ms; see text_array).
        with connection.cursor() as cursor:
            cursor.execute(_STORED_SQL, [source, text_array(external_ids)])
            rows = cursor.fetchall()
    else:
        rows = Transaction.objects.filter(source=source, external_id__in=external_ids).values_list(
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


def _transaction_from(item: ValidItem, *, source: str, received_at: datetime) -> Transaction:
    data = item.data
    return unsaved(
        Transaction,
        {
            "id": None,
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


def _merge_replies(responses: list[tuple]) -> DecisionsStoredReply:
    merged = DecisionsStoredReply()
    for _receiver, reply in responses:
        if isinstance(reply, DecisionsStoredReply):
            merged.case_references.update(reply.case_references)
            merged.events.extend(reply.events)
            merged.audit_entries.extend(reply.audit_entries)
    return merged


def _append_decision_events(
    decisions: list[Decision], case_references: dict[int, str], *, source: str, created_at
) -> None:
    """One decision.created outbox event per decision, in the decisions' order.

    The event stores what its filters read (the relay's hints, the feed's and the callbacks' matching)
    from values this batch holds; readers get the whole payload from `events_data`. On PostgreSQL one
    INSERT ... SELECT from arrays: building the whole payloads there (jsonb_build_object over a join of
    the rows just written) took ~100 ms of a 10,000-item batch's transaction, these ~45.
    """
    if connection.vendor == "postgresql":
        ids = [d.transaction_id for d in decisions]
        append_events_by_query(
            _DECISION_EVENTS_SQL,
            [
                DECISION_CREATED,
                source,
                created_at,
                "{" + ",".join(map(str, ids)) + "}",
                text_array([d.risk_level for d in decisions]),
                "{" + ",".join("t" if d.flagged else "f" for d in decisions) + "}",
                text_array([case_references.get(i) for i in ids]),
            ],
        )
        return
    append_events(
        [(DECISION_CREATED, _stored_payload(d, source, case_references.get(d.transaction_id))) for d in decisions],
        created_at=created_at,
    )


_DECISION_EVENTS_SQL = (
    f"INSERT INTO {OutboxEvent._meta.db_table} (event_type, payload, created_at, published_at, attempts) "  # noqa: S608
    "SELECT %s, jsonb_build_object('transaction_id', r.transaction_id, 'source', %s::text, "
    "'risk_level', r.risk_level, 'flagged', r.flagged, 'case_reference', r.case_reference), %s, NULL, 0 "
    "FROM unnest(%s::bigint[], %s::text[], %s::boolean[], %s::text[]) "
    "WITH ORDINALITY AS r(transaction_id, risk_level, flagged, case_reference, position) "
    "ORDER BY r.position"
)


def _stored_payload(decision: Decision, source: str, case_reference: str | None) -> dict:
    """What a decision.created event stores (as _DECISION_EVENTS_SQL writes it on PostgreSQL)."""
    return {
        "transaction_id": decision.transaction_id,
        "source": source,
        "risk_level": decision.risk_level,
        "flagged": decision.flagged,
        "case_reference": case_reference,
    }


def events_data(events: Sequence[tuple[str, dict]]) -> list[dict]:
    """The data of each `(event_type, payload)` as the streams, callbacks and API give it (one query at most).

    A decision.created event stores its transaction id, source, risk level, flag and case reference;
    its data adds the transaction and the decision as stored (they are never changed once written):
    external id, account, amount with the 4 decimals it is stored with, currency, times in UTC, score
    to 6 decimals, model version. Other events, events written whole before decision events were stored
    this way, and an event whose decision is gone, give their payload as stored.
    """
    wanted = [
        payload["transaction_id"]
        for kind, payload in events
        if kind == DECISION_CREATED and "external_id" not in payload and payload.get("transaction_id") is not None
    ]
    with _data_lock:
        stored = {i: _data_kept[i] for i in wanted if i in _data_kept}
    missing = [i for i in wanted if i not in stored]
    if missing:
        read = _read_event_data(missing)
        stored.update(read)
        with _data_lock:
            _data_kept.update((i, read[i]) for i in missing if i in read)  # in the events' order
            while len(_data_kept) > EVENT_DATA_KEPT:
                del _data_kept[next(iter(_data_kept))]  # the oldest kept
    data = []
    for kind, payload in events:
        found = stored.get(payload.get("transaction_id")) if kind == DECISION_CREATED else None
        data.append(payload if found is None else {**found, "case_reference": payload.get("case_reference")})
    return data


def event_data(event: OutboxEvent) -> dict:
    """One event's data as sent (events_data of one)."""
    [data] = events_data([(event.event_type, event.payload)])
    return data


# Every subscriber of the streams reads every page of events: a decision's data never changes once
# written and a transaction id is never handed out twice (a sequence), so each process keeps the latest
# it read (~0.6 kB each) and reads each from the database once.
EVENT_DATA_KEPT = 20_000
_data_kept: dict[int, dict] = {}
_data_lock = threading.Lock()


def forget_event_data() -> None:
    """Drop the event data this process keeps (for a database whose ids start again: tests, a restore)."""
    with _data_lock:
        _data_kept.clear()


def _read_event_data(transaction_ids: list[int]) -> dict[int, dict]:
    """Transaction id -> its decision event's data without the case reference, for those still stored."""
    if connection.vendor == "postgresql":
        # The objects built by PostgreSQL, as text parsed by json (C), not values converted one by one
        # (25-40 us a row in Python, measured with 4 SSE subscribers).
        with connection.cursor() as cursor:
            cursor.execute(_EVENT_DATA_SQL, ["{" + ",".join(map(str, transaction_ids)) + "}"])
            return {transaction_id: json.loads(text) for transaction_id, text in cursor.fetchall()}
    rows = Decision.objects.filter(transaction_id__in=transaction_ids).values_list(
        "transaction_id",
        "transaction__external_id",
        "transaction__source",
        "transaction__account_id",
        "transaction__amount",
        "transaction__currency",
        "transaction__occurred_at",
        "score",
        "risk_level",
        "flagged",
        "model_version__version",
        "created_at",
    )
    return {row[0]: _event_data(row) for row in rows}


_EVENT_DATA_SQL = (
    "SELECT d.transaction_id, json_build_object("  # noqa: S608 (table names)
    "'transaction_id', t.id, 'external_id', t.external_id, 'score', round(d.score::numeric, 6), "
    "'risk_level', d.risk_level, 'flagged', d.flagged, 'model_version', m.version, 'source', t.source, "
    "'account_id', t.account_id, 'amount', t.amount::text, 'currency', t.currency, "
    "'occurred_at', t.occurred_at, 'created_at', d.created_at)::text "
    f"FROM {Decision._meta.db_table} d "
    f"JOIN {Transaction._meta.db_table} t ON t.id = d.transaction_id "
    f"JOIN {ModelVersion._meta.db_table} m ON m.id = d.model_version_id "
    "WHERE d.transaction_id = ANY(%s::bigint[])"
)


def _event_data(row: tuple) -> dict:
    """A decision event's data from its values (as _EVENT_DATA_SQL builds it on PostgreSQL), times in UTC."""
    transaction_id, external_id, source, account_id, amount, currency, occurred_at = row[:7]
    score, risk_level, flagged, version, created_at = row[7:]
    return {
        "transaction_id": transaction_id,
        "external_id": external_id,
        "score": round(score, 6),
        "risk_level": risk_level,
        "flagged": flagged,
        "model_version": version,
        "source": source,
        "account_id": account_id,
        "amount": format(amount, ".4f"),
        "currency": currency,
        "occurred_at": occurred_at.astimezone(UTC).isoformat(),
        "created_at": created_at.astimezone(UTC).isoformat(),
    }


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


def _batch_audit_entry(
    actor, source: str, transactions: list[Transaction], decisions: list[Decision], model_version: int
) -> AuditEntry:
    """One audit event per batch; its digest ties every stored decision (of `transactions`, in order) to the chain."""
    digest = hashlib.sha256()
    for txn, d in zip(transactions, decisions, strict=True):
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
            "model_version": model_version,
            "decisions_sha256": digest.hexdigest(),
        },
    )
