"""Reads of the outbox: a decision event's data as the streams, callbacks and API give it, and pages of the feed.

A decision.created event stores only what its filters read (transaction id, source, risk level, flag,
case reference); its data adds the transaction and the decision as scoring stored them, which never
change once written.
"""

import json
import threading
from collections.abc import Sequence
from datetime import UTC

from django.db import connection

from delivery.models import DECISION_CREATED, OutboxEvent
from kernel.switches import device_off
from scoring.models import Decision, ModelVersion, Transaction
from scoring.visibility import transactions_visible_to

# Events read per query; a replay of many events is sent page by page.
FEED_PAGE_SIZE = 500


def events_data(events: Sequence[tuple[str, dict]]) -> list[dict]:
    """The data of each `(event_type, payload)` as it is sent (one query at most).

    A decision.created event's data is its transaction and decision: external id, account, amount with
    the 4 decimals it is stored with, currency, times in UTC, score to 6 decimals, model version, and the
    case reference it was stored with. Other events, and a decision event whose decision is gone, give
    their payload as stored.
    """
    wanted = [
        payload["transaction_id"]
        for kind, payload in events
        if kind == DECISION_CREATED and payload.get("transaction_id") is not None
    ]
    stored = _event_data_of(wanted)
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
_READ_EVERY_TIME = device_off("EVENT_DATA_KEPT")


def _event_data_of(transaction_ids: list[int]) -> dict[int, dict]:
    """_read_event_data(transaction_ids), reading only the ones this process does not keep yet."""
    if _READ_EVERY_TIME:  # FINOBS_NO_EVENT_DATA_KEPT=1: every call reads them all
        return _read_event_data(transaction_ids) if transaction_ids else {}
    with _data_lock:
        stored = {i: _data_kept[i] for i in transaction_ids if i in _data_kept}
    missing = [i for i in transaction_ids if i not in stored]
    if missing:
        read = _read_event_data(missing)
        stored.update(read)
        with _data_lock:
            _data_kept.update((i, read[i]) for i in missing if i in read)  # in the events' order
            while len(_data_kept) > EVENT_DATA_KEPT:
                del _data_kept[next(iter(_data_kept))]  # the oldest kept
    return stored


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


def latest_event_id(*, organisation_id: int) -> int:
    return (
        OutboxEvent.objects.for_organisation(organisation_id).order_by("-id").values_list("id", flat=True).first() or 0
    )


def decision_events_after(*, after_id: int, filters, limit: int = FEED_PAGE_SIZE) -> tuple[list[dict], int]:
    """Decision events with id > `after_id` that match `filters` (delivery.feed.FeedFilters), oldest first,
    and the next cursor; of `filters.organisation_id` only, and for a person (`filters.viewer`), only the
    decisions they may see.

    The cursor moves past non-matching events too (up to the newest id seen), so a narrow filter
    does not rescan the same rows on every read.
    """
    if filters.organisation_id is None:
        raise ValueError("A feed reads one organisation's events: name it in the filters.")
    head = latest_event_id(organisation_id=filters.organisation_id)
    if head <= after_id:
        return [], after_id
    rows = OutboxEvent.objects.for_organisation(filters.organisation_id).filter(
        id__gt=after_id, id__lte=head, event_type=DECISION_CREATED
    )
    if filters.is_flagged_only:
        rows = rows.filter(payload__flagged=True)
    if filters.min_risk_level is not None:
        rows = rows.filter(payload__risk_level__in=filters.risk_levels)
    if filters.source is not None:
        rows = rows.filter(payload__source=filters.source)
    page = list(rows.order_by("id").values_list("id", "event_type", "payload")[:limit])
    cursor = page[-1][0] if len(page) == limit else head
    if filters.viewer is not None:
        page = _visible_to(filters.viewer, page, organisation_id=filters.organisation_id)
    data = events_data([(kind, payload) for _pk, kind, payload in page])
    events = [{"id": pk, "type": kind, "data": d} for (pk, kind, _payload), d in zip(page, data, strict=True)]
    return events, cursor


def _visible_to(user, page: list[tuple], *, organisation_id: int) -> list[tuple]:
    """The decision events of `page` whose transactions `user` may see (one query)."""
    ids = [payload.get("transaction_id") for _pk, _kind, payload in page]
    candidates = Transaction.objects.for_organisation(organisation_id).filter(pk__in=[i for i in ids if i is not None])
    visible = set(transactions_visible_to(user, candidates).values_list("pk", flat=True))
    return [row for row, transaction_id in zip(page, ids, strict=True) if transaction_id in visible]
