"""Appending to the audit chain and verifying it: the only code that writes AuditEvent rows."""

import hashlib
import json
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connections, router, transaction
from django.utils import timezone

from audit.checkpoints import Checkpoint, archive_checkpoint_write, latest_archive
from audit.models import AuditEvent
from audit.pii import redact_pii
from organisations.context import current_organisation_id, id_of, system_context

GENESIS_HASH = "0" * 64

# Class of the PostgreSQL advisory locks that serialise appends, one lock per organisation's chain
# (`pg_advisory_xact_lock(class, organisation id)`; the first 4 bytes of sha256("finobs.audit.chain") as a
# signed 32-bit integer, so it cannot clash by accident).
CHAIN_LOCK_CLASS = 101231787

_MAX_LENGTHS = {"actor": 200, "action": 64, "object_type": 64, "object_id": 64}


@dataclass(frozen=True)
class AuditEntry:
    actor: object
    action: str
    object_type: str = ""
    object_id: str | int = ""
    payload: dict | None = None


@dataclass
class ChainReport:
    ok: bool
    checked: int
    first_bad_id: int | None
    reason: str


def actor_label(actor: object) -> str:
    """How an actor is written in the trail: "system", "user:alice", "api:ab12cd34", "anonymous"."""
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    label = getattr(actor, "audit_label", None)
    if isinstance(label, str):
        return label
    if getattr(actor, "is_anonymous", False):
        return "anonymous"
    if isinstance(actor, AbstractBaseUser):
        return f"user:{actor.get_username()}"
    raise TypeError(f"Cannot name {type(actor).__name__} as an audit actor.")


def audit_log(
    *,
    actor: object,
    action: str,
    object_type: str = "",
    object_id: str | int = "",
    payload: dict | None = None,
    organisation=None,
) -> AuditEvent:
    """Append one event to the chain of `organisation` (the current one unless named), inside the caller's
    transaction if there is one."""
    entry = AuditEntry(actor=actor, action=action, object_type=object_type, object_id=object_id, payload=payload)
    return audit_log_many([entry], organisation=organisation)[0]


def audit_log_many(entries: Sequence[AuditEntry], *, organisation=None) -> list[AuditEvent]:
    """Append `entries` in order to the chain of `organisation` (the current one unless named) with one lock
    and one bulk insert (the ingest path writes many at once)."""
    organisation_id = _organisation_id(organisation)
    events = [_prepare(entry, organisation_id) for entry in entries]
    if not events:
        return []
    using = router.db_for_write(AuditEvent)
    # No savepoint inside the caller's transaction (two round trips per append on the hot path): an
    # append that fails fails the caller's whole transaction, which is what an audited change needs.
    with as_chain_owner(organisation_id), transaction.atomic(using=using, savepoint=False):
        _lock_chain(using, organisation_id)
        return _append_locked(events, organisation_id=organisation_id, using=using)


# Names the platform's chain (events outside every organisation) where an organisation may be named.
PLATFORM = "platform"


def _organisation_id(organisation) -> int | None:
    """The chain to write or verify: the named organisation's, else the current one's, else the platform's."""
    if organisation is None:
        return current_organisation_id()
    if organisation == PLATFORM:
        return None
    return id_of(organisation)


def as_chain_owner(organisation_id: int | None) -> AbstractContextManager:
    """Run a block that reads or writes one chain in a context that sees all of it: the current organisation's
    when the chain is its own, else platform work (unset), as the chain names its rows' organisation itself.

    For PostgreSQL's row-level security (organisations.row_security): a platform person (nobody) records
    their actions in the platform's chain, and support visits and organisation creation write another
    chain than the current context's; the database lets each see and extend only the chain it acts for.
    """
    if organisation_id is not None and organisation_id == current_organisation_id():
        return nullcontext()
    return system_context()


def audit_verify(*, organisation=None, batch_size: int = 5000, checkpoints: Sequence[Checkpoint] = ()) -> ChainReport:
    """Recompute every hash of `organisation`'s chain (the current one unless named) and follow every link,
    oldest first, reading `batch_size` rows at a time.

    Each of `checkpoints` (signed heads kept outside the table, audit.checkpoints) must still be in
    the chain with its hash and position: that is what reveals removed newest rows or a rebuilt table.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    organisation_id = _organisation_id(organisation)
    with as_chain_owner(organisation_id):
        return _verify(organisation_id, batch_size, checkpoints)


def _verify(organisation_id: int | None, batch_size: int, checkpoints: Sequence[Checkpoint]) -> ChainReport:
    """Follow the chain from genesis, or, once retention archived its start, from the newest archive
    checkpoint: the signed head (hash and position) of the archived segment, which verify_bundle checks."""
    archive = latest_archive(organisation_id, checkpoints)
    start_id = archive.head_id if archive else 0
    pending = {
        c.head_id: c
        for c in checkpoints
        if c.organisation_id == organisation_id and not c.archived and c.head_id > start_id
    }
    rows = chain_of(organisation_id)
    expected_prev = archive.head_hash if archive else GENESIS_HASH
    position = archive.events if archive else 0  # events of the chain before the first row read
    checked = 0
    last_id = start_id
    while batch := list(rows.filter(id__gt=last_id).order_by("id")[:batch_size]):
        for event in batch:
            checkpoint = pending.pop(event.id, None)
            if checkpoint and (checkpoint.head_hash != event.hash or checkpoint.events != position + checked + 1):
                reason = f"row {event.id} differs from the signed checkpoint of {checkpoint.created_at}"
                return ChainReport(False, checked, event.id, reason)
            if _event_hash(event) != event.hash:
                return ChainReport(False, checked, event.id, f"hash mismatch: row {event.id} was modified")
            if event.prev_hash != expected_prev:
                # Ids may legitimately have gaps (rolled-back sequences); only the links prove completeness.
                if checked == 0 and archive:
                    reason = f"chain broken before row {event.id}: it does not continue the archived segment"
                elif checked == 0:
                    reason = f"chain broken before row {event.id}: it does not start from genesis (rows are missing)"
                else:
                    reason = f"chain broken before row {event.id}: a row is missing or was reordered"
                return ChainReport(False, checked, event.id, reason)
            expected_prev = event.hash
            checked += 1
        last_id = batch[-1].id
    if pending:
        first = min(pending.values(), key=lambda c: c.head_id)
        return ChainReport(
            False,
            checked,
            first.head_id,
            f"row {first.head_id}, signed as the head on {first.created_at}, is gone: rows were removed",
        )
    return ChainReport(True, checked, None, "")


def chain_of(organisation_id: int | None):
    """The events of one chain, whatever the current context: an organisation's, or the platform's (None)."""
    if organisation_id is None:
        return AuditEvent.objects.for_all_organisations().filter(organisation__isnull=True)
    return AuditEvent.objects.for_all_organisations().filter(organisation_id=organisation_id)


def _prepare(entry: AuditEntry, organisation_id: int | None) -> AuditEvent:
    """Validate and normalise an entry without touching the database (so no lock is held meanwhile)."""
    event = AuditEvent(
        organisation_id=organisation_id,
        actor=actor_label(entry.actor),
        action=entry.action,
        object_type=entry.object_type,
        object_id=str(entry.object_id),
        payload=_json_value(redact_pii({} if entry.payload is None else entry.payload)),
    )
    if not event.action:
        raise ValueError("An audit event needs an action.")
    for field, limit in _MAX_LENGTHS.items():
        if len(getattr(event, field)) > limit:
            raise ValueError(f"Audit {field} is longer than {limit} characters: {getattr(event, field)[:80]!r}")
    return event


def hold_chain_lock(*, organisation_id: int | None, using: str = "default") -> None:
    """Take the lock of an organisation's audit chain, transaction-scoped (held to commit; re-entrant
    within a transaction).

    Other ordered logs (ingestion's outbox) take this same lock rather than one of their own:
    writers take it in either order (outbox then audit, audit then outbox), and two different
    locks taken in opposite orders would deadlock. Call it inside `transaction.atomic()`.
    """
    _lock_chain(using, organisation_id)


def _lock_chain(using: str, organisation_id: int | None) -> None:
    """Serialise an organisation's appends so that no two transactions extend the same head."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [CHAIN_LOCK_CLASS, organisation_id or 0])
    # SQLite runs with transaction_mode=IMMEDIATE: BEGIN already took the database's single write lock.


def _append_locked(events: list[AuditEvent], *, organisation_id: int | None, using: str) -> list[AuditEvent]:
    """Chain and insert `events`. The caller holds the organisation's chain lock for the current transaction."""
    prev_hash = _head_hash(using, organisation_id) or GENESIS_HASH
    # Taken under the lock, so created_at never goes backwards along the chain.
    created_at = timezone.now()
    for event in events:
        event.created_at = created_at
        event.prev_hash = prev_hash
        event.hash = _event_hash(event)
        prev_hash = event.hash
    return AuditEvent.objects.using(using).bulk_create(events)


def _head_hash(using: str, organisation_id: int | None) -> str | None:
    return chain_of(organisation_id).using(using).order_by("-id").values_list("hash", flat=True).first()


def _event_hash(event: AuditEvent) -> str:
    body = {
        "prev_hash": event.prev_hash,
        "created_at": event.created_at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": str(event.object_id),
        "payload": event.payload,
    }
    return hashlib.sha256(_canonical_json(body).encode()).hexdigest()


def _canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str, allow_nan=False)


def _json_value(payload: Any) -> Any:
    """The payload exactly as the database will give it back, so the stored row re-hashes identically."""
    return json.loads(_canonical_json(payload), parse_float=_stable_float)


def _stable_float(text: str) -> float | int:
    value = float(text)
    if value == 0:
        return 0.0  # PostgreSQL jsonb has no negative zero
    if value.is_integer() and abs(value) >= 1e16:
        return int(value)  # jsonb prints 1e+16 as 10000000000000000, which reads back as an int
    return value


def audit_archived_remove(*, organisation, through_id: int, bundle_sha256: str) -> int:
    """Remove the events of `organisation`'s chain up to `through_id`, after they were written to the signed
    archive bundle `bundle_sha256`: first an archive checkpoint signs the segment's head (hash and position),
    then the rows go. The only deletion of audit events there is; returns the rows removed.

    On PostgreSQL the append-only trigger lets this one statement through (audit 0004): the transaction says
    it is archiving (`finobs.audit_archive`), which only this function does.
    """
    organisation_id = _organisation_id(organisation)
    using = router.db_for_write(AuditEvent)
    with as_chain_owner(organisation_id):
        chain = chain_of(organisation_id).using(using)
        head = chain.filter(id=through_id).values("id", "hash").first()
        if head is None:
            raise ValueError(f"Row {through_id} is not in this chain.")
        archive = latest_archive(organisation_id)
        before = archive.events if archive else 0
        events = before + chain.filter(id__lte=through_id, id__gt=archive.head_id if archive else 0).count()
        archive_checkpoint_write(
            organisation_id=organisation_id,
            head_id=through_id,
            head_hash=head["hash"],
            events=events,
            bundle_sha256=bundle_sha256,
        )
        with transaction.atomic(using=using):
            _lock_chain(using, organisation_id)
            with connections[using].cursor() as cursor:
                if connections[using].vendor == "postgresql":
                    cursor.execute("SET LOCAL finobs.audit_archive = 'on'")
                table = AuditEvent._meta.db_table
                scope = "organisation_id IS NULL" if organisation_id is None else "organisation_id = %s"
                params = [through_id] if organisation_id is None else [organisation_id, through_id]
                sql = f"DELETE FROM {table} WHERE {scope} AND id <= %s"  # noqa: S608 (table and scope are ours)
                cursor.execute(sql, params)
                removed = cursor.rowcount
                if connections[using].vendor == "postgresql":
                    # Off again at once: the rest of an enclosing transaction deletes nothing more.
                    cursor.execute("SET LOCAL finobs.audit_archive = 'off'")
                return removed
