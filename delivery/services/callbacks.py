"""Callbacks: fan-out of outbox events into deliveries, signed sends, retries, dead letters, circuit breaker.

A delivery is a database row first. Workers claim it with a conditional UPDATE that moves
`next_attempt_at` to the end of a lease, so a Celery redelivery, the beat catch-up and the countdown
retry can all ask for the same send and only one POST goes out. Sends follow the Standard Webhooks
spec: `webhook-id` (stable across retries), `webhook-timestamp`, `webhook-signature` over the exact
bytes sent.
"""

import json
import logging
import os
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import reduce

import httpx
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone
from standardwebhooks import Webhook

from audit.services import audit_log
from delivery.models import DECISION_CREATED, CallbackEndpoint, Delivery, DeliveryAttempt, OutboxEvent
from delivery.models.callbacks import new_webhook_id
from delivery.selectors import event_data
from kernel.bulk import bulk_insert
from kernel.errors import Conflict
from kernel.outbound import UnsafeUrl, check_outbound_url, outbound_transport, request_deadline
from kernel.switches import device_off
from kernel.tracing import span

logger = logging.getLogger(__name__)

USER_AGENT = "finobs-webhooks/1.0 (+https://www.standardwebhooks.com/)"
OPEN_STATUSES = (Delivery.Status.PENDING, Delivery.Status.RETRYING)
# A claimed delivery is held this long past the request timeout; a worker that dies mid-send
# leaves it to the beat catch-up after that (at-least-once; receivers dedup on webhook-id).
LEASE_MARGIN_S = 30
# Rounds of `CALLBACK_FANOUT_BATCH` events per endpoint in one fan-out run; the next run goes on.
FANOUT_MAX_ROUNDS = 20
# Deliveries per send task: few enough that a task stays short, enough that publishing 10,000 is cheap.
SEND_CHUNK = 20
# A receiver's answer up to this size is read to its end so its connection is kept alive; a longer one is not read.
RESPONSE_BODY_KEPT_BYTES = 16 * 1024


class DeliveryInFlight(Conflict):
    """Only a dead or delivered delivery can be redelivered; a pending one is still being tried."""

    def __init__(self, message: str):
        super().__init__(message, code="delivery_in_flight")


# --- Fan-out: outbox events become deliveries ----------------------------------------------------


def deliveries_fan_out() -> int:
    """Create the deliveries of outbox events newer than each active endpoint's cursor; returns how many.

    Safe from several workers at once: each endpoint is handled under a row lock (skipped if another
    worker holds it), and an event becomes at most one delivery per endpoint.
    """
    now = timezone.now()
    usable_key = Q(api_key__isnull=True) | Q(
        Q(api_key__revoked_at__isnull=True), Q(api_key__expires_at__isnull=True) | Q(api_key__expires_at__gt=now)
    )
    endpoint_ids = CallbackEndpoint.objects.filter(usable_key, is_active=True).values_list("pk", flat=True)
    created = 0
    for endpoint_id in list(endpoint_ids):
        scan_from = 0
        for _ in range(FANOUT_MAX_ROUNDS):
            count, scan_from, has_more = _fan_out_endpoint(endpoint_id, scan_from=scan_from, now=now)
            created += count
            if not has_more:
                break
    return created


def _fan_out_endpoint(endpoint_id: int, *, scan_from: int, now: datetime) -> tuple[int, int, bool]:
    """One batch for one endpoint: (deliveries created, last event id scanned, whether more may wait).

    Holds the endpoint's row lock. Events are fanned out as soon as they are visible, but the
    cursor only passes events older than CALLBACK_FANOUT_SETTLE_S: a slower transaction may commit
    an event with a lower id after a newer one is visible, and the next run must still see it.
    Re-scanning the settle window is cheap: events that already have a delivery are skipped.
    """
    batch_size = settings.CALLBACK_FANOUT_BATCH
    settled_before = now - timedelta(seconds=settings.CALLBACK_FANOUT_SETTLE_S)
    with transaction.atomic():
        locked = CallbackEndpoint.objects.filter(pk=endpoint_id, is_active=True)
        if connection.features.has_select_for_update_skip_locked:
            locked = locked.select_for_update(skip_locked=True)
        endpoint = locked.first()
        if endpoint is None:
            return 0, scan_from, False
        start = max(endpoint.last_event_id, scan_from)
        # The endpoint's organisation's events only, whatever context the fan-out runs in.
        outbox = OutboxEvent.objects.for_organisation(endpoint.organisation_id)
        events = list(
            outbox.filter(_matching(endpoint), id__gt=start).order_by("id").values_list("id", "event_type")[:batch_size]
        )
        has_more = len(events) == batch_size
        settled = outbox.filter(id__gt=endpoint.last_event_id, created_at__lte=settled_before)
        if has_more:
            settled = settled.filter(id__lte=events[-1][0])
        horizon = settled.aggregate(horizon=Max("id"))["horizon"]
        new = []
        if events:
            seen = set(
                Delivery.objects.filter(
                    endpoint=endpoint, event_id__gte=events[0][0], event_id__lte=events[-1][0]
                ).values_list("event_id", flat=True)
            )
            new = bulk_insert(
                Delivery,
                [
                    Delivery(
                        organisation_id=endpoint.organisation_id,
                        endpoint=endpoint,
                        event_id=event_id,
                        event_type=event_type,
                        webhook_id=new_webhook_id(),
                        next_attempt_at=now,
                        created_at=now,
                    )
                    for event_id, event_type in events
                    if event_id not in seen
                ],
            )
        if horizon is not None and horizon > endpoint.last_event_id:
            CallbackEndpoint.objects.filter(pk=endpoint.pk).update(last_event_id=horizon)
        delivery_ids = [d.pk for d in new]
        if delivery_ids:
            transaction.on_commit(lambda: deliveries_enqueue(delivery_ids=delivery_ids))
    return len(delivery_ids), (events[-1][0] if events else start), has_more


def _matching(endpoint: CallbackEndpoint) -> Q:
    """The outbox events an endpoint subscribes to, as one filter."""
    types = list(endpoint.event_types or [])
    if "*" in types:
        wanted = Q()
    else:
        exact = [t for t in types if not t.endswith(".*")]
        families = [Q(event_type__startswith=t[:-1]) for t in types if t.endswith(".*")]
        wanted = reduce(lambda a, b: a | b, families, Q(event_type__in=exact))
    if endpoint.flagged_only:
        wanted &= ~Q(event_type=DECISION_CREATED) | Q(payload__flagged=True)
    if endpoint.api_key_id is not None:
        # An integrator's endpoint gets its own source's events only (decisions of the transactions it
        # sent), as its key reads only those; case and model events go to endpoints people configure.
        wanted &= Q(payload__source=endpoint.api_key.source)
    return wanted


def deliveries_enqueue(*, delivery_ids: Sequence[int], countdown: float | None = None) -> None:
    """Ask workers to send, SEND_CHUNK deliveries per task (one message per delivery costs ~1 ms to publish).

    If the broker is down, the beat task (`deliveries_enqueue_due`) sends them later.
    """
    from delivery.tasks import deliveries_send_task, delivery_send_task

    try:
        if len(delivery_ids) == 1:
            delivery_send_task.apply_async((delivery_ids[0],), countdown=countdown)
            return
        for start in range(0, len(delivery_ids), SEND_CHUNK):
            deliveries_send_task.apply_async((list(delivery_ids[start : start + SEND_CHUNK]),), countdown=countdown)
    except Exception:
        logger.warning("callbacks: could not enqueue sends; the beat task will send them", exc_info=True)


def deliveries_send(*, delivery_ids: Sequence[int]) -> dict[str, int]:
    """`delivery_send` each in turn; returns how many ended which way."""
    outcomes: dict[str, int] = {}
    for delivery_id in delivery_ids:
        outcome = delivery_send(delivery_id=delivery_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def deliveries_enqueue_due(*, limit: int = 1000) -> int:
    """Enqueue the sends that are due (catch-up after a worker or broker outage); returns how many."""
    due = (
        Delivery.objects.filter(status__in=OPEN_STATUSES, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    delivery_ids = list(due)
    deliveries_enqueue(delivery_ids=delivery_ids)
    return len(delivery_ids)


# --- Sending -----------------------------------------------------------------------------------


def retry_delay_s(attempts: int) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(max, base * 2^(attempts-1))]."""
    ceiling = min(settings.CALLBACK_RETRY_MAX_S, settings.CALLBACK_RETRY_BASE_S * 2 ** (attempts - 1))
    return random.uniform(0, ceiling)


def delivery_send(*, delivery_id: int) -> str:
    """Send one delivery if it is due and nobody else holds it.

    Returns what happened: "delivered", "retrying", "dead", "postponed" (breaker open or endpoint
    inactive; no attempt spent) or "skipped" (not due, already delivered, or held by another worker).
    """
    now = timezone.now()
    lease_until = now + timedelta(seconds=settings.CALLBACK_TIMEOUT_S + LEASE_MARGIN_S)
    claimed = Delivery.objects.filter(pk=delivery_id, status__in=OPEN_STATUSES, next_attempt_at__lte=now).update(
        next_attempt_at=lease_until
    )
    if not claimed:
        return "skipped"
    delivery = Delivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        return _postpone(delivery, until=now + timedelta(seconds=settings.CALLBACK_BREAKER_COOLDOWN_S))
    allowed, retry_at = _breaker_allows(endpoint, now=now)
    if not allowed:
        return _postpone(delivery, until=retry_at)
    attempt = {"delivery_id": delivery.pk, "endpoint_id": endpoint.pk, "event_id": delivery.event_id}
    with span("delivery.callback", **attempt, attempt=delivery.attempts + 1) as current:
        status_code, error, duration_ms = _post(delivery, endpoint)
        outcome = _record(delivery, endpoint, status_code=status_code, error=error, duration_ms=duration_ms)
        current.set_attribute("outcome", outcome)
        if status_code is not None:
            current.set_attribute("http.response.status_code", status_code)
    return outcome


def _breaker_allows(endpoint: CallbackEndpoint, *, now: datetime) -> tuple[bool, datetime | None]:
    """Closed: send. Open: wait until it may close. Half-open: one trial send; the others look again after it."""
    open_until = endpoint.breaker_open_until
    if open_until is None:
        return True, None
    if open_until > now:
        return False, open_until + timedelta(seconds=random.uniform(0, settings.CALLBACK_TIMEOUT_S))
    cooldown = timedelta(seconds=settings.CALLBACK_BREAKER_COOLDOWN_S)
    # Whoever moves the window forward sends the trial; if it fails the breaker stays open.
    took_trial = CallbackEndpoint.objects.filter(pk=endpoint.pk, breaker_open_until=open_until).update(
        breaker_open_until=now + cooldown
    )
    if took_trial:
        return True, None
    return False, now + timedelta(seconds=settings.CALLBACK_TIMEOUT_S + LEASE_MARGIN_S)


def _postpone(delivery: Delivery, *, until: datetime) -> str:
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=until)
    return "postponed"


def webhook_body(delivery: Delivery) -> str:
    """The JSON body, `{"type", "timestamp", "data"}` as the Standard Webhooks spec suggests."""
    event = delivery.event
    return json.dumps(
        {"type": delivery.event_type, "timestamp": event.created_at.isoformat(), "data": event_data(event)},
        separators=(",", ":"),
    )


def webhook_headers(delivery: Delivery, endpoint: CallbackEndpoint, body: str, *, sent_at: datetime) -> dict:
    signatures = " ".join(
        Webhook(secret).sign(msg_id=delivery.webhook_id, timestamp=sent_at, data=body)
        for secret in endpoint.signing_secrets(now=sent_at)
    )
    return {
        "webhook-id": delivery.webhook_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signatures,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


_clients: dict[tuple[int, bool], httpx.Client] = {}
_CLIENT_PER_SEND = device_off("CALLBACK_CLIENT")


@contextmanager
def _http_client() -> Iterator[httpx.Client]:
    """One pooled client per process (made after a Celery fork): keep-alive to receivers, and an SSL
    context built once instead of per send (that alone costs tens of milliseconds). Each connection is
    pinned to the address its host resolved to, and was checked at, when it was opened (public only,
    unless CALLBACK_ALLOW_PRIVATE); a later lookup of the host only ever opens, and checks, a new one."""
    if _CLIENT_PER_SEND:  # FINOBS_NO_CALLBACK_CLIENT=1: a client for this send, closed after it
        with _new_http_client() as client:
            yield client
        return
    key = (os.getpid(), settings.CALLBACK_ALLOW_PRIVATE)
    client = _clients.get(key)
    if client is None:
        client = _clients[key] = _new_http_client()
    yield client


def _new_http_client() -> httpx.Client:
    return httpx.Client(
        follow_redirects=False,
        headers={"user-agent": USER_AGENT},
        transport=outbound_transport(allow_private=settings.CALLBACK_ALLOW_PRIVATE),
    )


def _post(delivery: Delivery, endpoint: CallbackEndpoint) -> tuple[int | None, str, int]:
    """POST the signed event once: (status code or None, error or "", duration in ms). Never raises."""
    body = webhook_body(delivery)
    headers = webhook_headers(delivery, endpoint, body, sent_at=timezone.now())
    started = time.monotonic()
    status_code, error = None, ""
    try:
        # The host's DNS may point elsewhere since the URL was saved: the transport resolves it when it
        # connects, checks the addresses and connects to those (one lookup; no second one to rebind).
        check_outbound_url(endpoint.url, allow_private=settings.CALLBACK_ALLOW_PRIVATE, resolve=False)
        with (
            # In all, name lookup included: httpx's timeout is per phase and per read.
            request_deadline(settings.CALLBACK_TIMEOUT_S),
            _http_client() as client,
            client.stream(
                "POST", endpoint.url, content=body.encode(), headers=headers, timeout=settings.CALLBACK_TIMEOUT_S
            ) as response,
        ):
            status_code = response.status_code
            _drain(response)
        if response.is_redirect:
            error = f"HTTP {status_code}: redirects are not followed"
        elif not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except UnsafeUrl as exc:
        error = f"Refused by the SSRF guard: {exc}"
    except httpx.TimeoutException:
        error = f"Timed out after {settings.CALLBACK_TIMEOUT_S:g} s"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    return status_code, error[:500], int((time.monotonic() - started) * 1000)


def _drain(response: httpx.Response) -> None:
    """Read a short answer's body to its end, so its connection can serve the next send (keep-alive);
    a longer one, or one that comes too slowly, is dropped with its connection: it is never buffered."""
    read = 0
    try:
        for chunk in response.iter_raw():
            read += len(chunk)
            if read > RESPONSE_BODY_KEPT_BYTES:
                return
    except httpx.HTTPError:  # the status is what counts; the connection is simply not kept
        return


def _record(delivery: Delivery, endpoint: CallbackEndpoint, *, status_code, error: str, duration_ms: int) -> str:
    """Store the attempt and what follows from it: delivered, a retry later, or dead; feed the breaker."""
    now = timezone.now()
    attempts = delivery.attempts + 1
    succeeded = not error
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            organisation_id=delivery.organisation_id,
            delivery=delivery,
            attempted_at=now,
            status_code=status_code,
            error=error,
            duration_ms=duration_ms,
        )
        outcome = {"attempts": attempts, "last_status_code": status_code, "last_error": error}
        if succeeded:
            Delivery.objects.filter(pk=delivery.pk).update(
                status=Delivery.Status.DELIVERED, next_attempt_at=None, delivered_at=now, **outcome
            )
            CallbackEndpoint.objects.filter(
                Q(consecutive_failures__gt=0) | Q(breaker_open_until__isnull=False), pk=endpoint.pk
            ).update(consecutive_failures=0, breaker_open_until=None)
            return "delivered"
        _count_failure(endpoint, now=now)
        if attempts >= settings.CALLBACK_MAX_ATTEMPTS:
            Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.DEAD, next_attempt_at=None, **outcome)
            audit_log(
                actor=None,
                action="callback.delivery_dead",
                object_type="delivery",
                object_id=delivery.pk,
                payload={"endpoint_id": endpoint.pk, "webhook_id": delivery.webhook_id, **outcome},
                organisation=delivery.organisation_id,  # sends run as platform work: the chain is named
            )
            return "dead"
        delay_s = retry_delay_s(attempts)
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.RETRYING, next_attempt_at=now + timedelta(seconds=delay_s), **outcome
        )
        countdown = min(delay_s, settings.CALLBACK_COUNTDOWN_MAX_S)
        transaction.on_commit(lambda: deliveries_enqueue(delivery_ids=[delivery.pk], countdown=countdown))
    return "retrying"


def _count_failure(endpoint: CallbackEndpoint, *, now: datetime) -> None:
    """One more consecutive failure; at the threshold the breaker opens (or stays open) for the cooldown.

    Queryset updates under the row lock: the breaker is operational state, not an edit for the history.
    """
    rows = CallbackEndpoint.objects.select_for_update().filter(pk=endpoint.pk)
    failures, open_until = rows.values_list("consecutive_failures", "breaker_open_until").get()
    failures += 1
    if failures < settings.CALLBACK_BREAKER_THRESHOLD:
        rows.update(consecutive_failures=failures)
        return
    until = now + timedelta(seconds=settings.CALLBACK_BREAKER_COOLDOWN_S)
    rows.update(consecutive_failures=failures, breaker_open_until=until)
    if open_until is None:
        logger.warning("callbacks: breaker open for endpoint %s after %d failures", endpoint.pk, failures)
        audit_log(
            actor=None,
            action="callback.breaker_opened",
            object_type="callbackendpoint",
            object_id=endpoint.pk,
            payload={"consecutive_failures": failures, "until": until.isoformat()},
            organisation=endpoint.organisation_id,
        )


# --- Redelivery --------------------------------------------------------------------------------


def delivery_redeliver(*, delivery: Delivery, actor) -> Delivery:
    """Put a dead (or delivered) delivery back in the queue with its attempts reset, and send it."""
    with transaction.atomic():
        locked = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if locked.status in OPEN_STATUSES:
            raise DeliveryInFlight("This delivery is still being tried; redeliver it once it is dead or delivered.")
        previous = locked.status
        locked.status = Delivery.Status.PENDING
        locked.attempts = 0
        locked.next_attempt_at = timezone.now()
        locked.delivered_at = None
        locked.last_error = ""
        locked.last_status_code = None
        locked.save()
        audit_log(
            actor=actor,
            action="callback.redelivered",
            object_type="delivery",
            object_id=locked.pk,
            payload={"from": previous, "endpoint_id": locked.endpoint_id, "webhook_id": locked.webhook_id},
            organisation=locked.organisation_id,
        )
        transaction.on_commit(lambda: deliveries_enqueue(delivery_ids=[locked.pk]))
    return locked
