"""Audit trail and transaction exports: a time range of the chain, or the transactions of a filter, as bundles."""

from datetime import datetime

from django.utils.dateparse import parse_datetime

from audit.models import AuditEvent
from audit.services import chain_of
from evidence.bundles import BundleWriter
from evidence.models import ExportRecord
from evidence.services.records import export_builder
from evidence.services.rows import (
    AUDIT_EVENT_FIELDS,
    TRANSACTION_COLUMNS,
    decision_row,
    transaction_row,
    transaction_values,
)
from scoring.models import Transaction

AUDIT_ITERATOR_CHUNK = 2000


def audit_events_in(*, since: datetime | None, until: datetime | None):
    """The current organisation's chain between two times (from inclusive, to exclusive), oldest first.

    The chain's times never go backwards (each is taken under the chain's lock), so a time range is a
    contiguous piece of the chain: each event's previous hash is the hash of the one before it.
    """
    events = AuditEvent.objects.all()
    if since is not None:
        events = events.filter(created_at__gte=since)
    if until is not None:
        events = events.filter(created_at__lt=until)
    return events


def audit_segment_write(bundle: BundleWriter, events, progress) -> dict:
    """Write `events` (a queryset, oldest first) as audit_events.jsonl; returns the manifest's audit_segment."""
    segment = {"events": 0, "first_id": None, "last_id": None, "first_prev_hash": None, "last_hash": None}

    def rows():
        for event in events.order_by("id").values(*AUDIT_EVENT_FIELDS).iterator(chunk_size=AUDIT_ITERATOR_CHUNK):
            if segment["events"] == 0:
                segment["first_id"], segment["first_prev_hash"] = event["id"], event["prev_hash"]
            segment["events"] += 1
            segment["last_id"], segment["last_hash"] = event["id"], event["hash"]
            progress(segment["events"])
            yield event

    bundle.add_jsonl("audit_events.jsonl", rows())
    return segment


@export_builder(ExportRecord.Kind.AUDIT, ExportRecord.Kind.ARCHIVE_AUDIT)
def build_audit_bundle(*, bundle: BundleWriter, record: ExportRecord, progress) -> tuple[dict, dict]:
    parameters = record.parameters
    if record.kind == ExportRecord.Kind.ARCHIVE_AUDIT:
        # One chain's segment: the record's organisation's, or the platform's (no organisation).
        events = chain_of(record.organisation_id).filter(id__gte=parameters["first_id"], id__lte=parameters["last_id"])
    else:
        events = audit_events_in(since=_time(parameters.get("from")), until=_time(parameters.get("to")))
    segment = audit_segment_write(bundle, events, progress)
    subject = {"from": parameters.get("from"), "to": parameters.get("to")}
    return subject, ({"audit_segment": segment} if segment["events"] else {})


def transactions_matching(*, account_id: str = "", since=None, until=None, flagged: bool | None = None):
    """Transactions of the current organisation for an export filter, with their decisions."""
    transactions = Transaction.objects.all()
    if account_id:
        transactions = transactions.filter(account_id=account_id)
    if since is not None:
        transactions = transactions.filter(occurred_at__gte=since)
    if until is not None:
        transactions = transactions.filter(occurred_at__lt=until)
    if flagged is not None:
        transactions = transactions.filter(decision__flagged=flagged)
    return transactions


@export_builder(ExportRecord.Kind.TRANSACTIONS, ExportRecord.Kind.ARCHIVE_TRANSACTIONS)
def build_transactions_bundle(*, bundle: BundleWriter, record: ExportRecord, progress) -> tuple[dict, dict]:
    parameters = record.parameters
    if record.kind == ExportRecord.Kind.ARCHIVE_TRANSACTIONS:
        transactions = Transaction.objects.filter(pk__in=parameters["ids"])
    else:
        transactions = transactions_matching(
            account_id=parameters.get("account_id", ""),
            since=_time(parameters.get("from")),
            until=_time(parameters.get("to")),
            flagged=parameters.get("flagged"),
        )
    transactions_write(bundle, transactions, progress)
    subject = {key: parameters.get(key) for key in ("account_id", "from", "to", "flagged") if key in parameters}
    return subject, {}


def transactions_write(bundle: BundleWriter, transactions, progress) -> None:
    ordered = transaction_values(transactions.order_by("occurred_at", "id"))

    def csv_rows():
        for n, row in enumerate(ordered.iterator(chunk_size=2000), start=1):
            progress(n)
            yield transaction_row(row)

    bundle.add_csv("transactions.csv", TRANSACTION_COLUMNS, csv_rows())
    bundle.add_jsonl(
        "decisions.jsonl",
        (decision_row(row) for row in ordered.iterator(chunk_size=2000) if row["decision_score"] is not None),
    )


def _time(value) -> datetime | None:
    return parse_datetime(value) if value else None
