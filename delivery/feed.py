"""The live decision feed shared by SSE and WebSocket: filters, events after an id, relay hints.

The relay sends compact hints (event id, risk level, flagged) to the organisation's Channels group; the
truth is the outbox table. A subscriber keeps a cursor (the last outbox id it has passed) and reads the
events after it whenever a hint it cares about arrives, and every few seconds anyway, so a dropped
hint or a Redis outage only delays it. Outbox ids become visible in id order
(`delivery.services.outbox.outbox_append`), so paging by `id > cursor` never skips an event.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from delivery.selectors import decision_events_after, latest_event_id

logger = logging.getLogger(__name__)

DECISIONS_GROUP = "decisions"


def decisions_group(organisation_id: int) -> str:
    """The Channels group of one organisation's decision hints."""
    return f"{DECISIONS_GROUP}.{organisation_id}"


RISK_LEVELS = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
# Group membership in channels-redis expires (a day by default); long-lived subscribers renew it.
GROUP_RENEW_S = 600.0
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off", ""}


class FeedParameterError(ValueError):
    """A filter or cursor parameter a client sent is not valid."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class FeedFilters:
    # Whose feed: every reader names its organisation (a stream outlives its request's context).
    organisation_id: int | None = None
    is_flagged_only: bool = False
    min_risk_level: str | None = None
    # An integrator's key follows its own source only (as it reads only its own transactions).
    source: str | None = None
    # A person follows only the decisions whose transactions they may see (scoring.visibility).
    viewer: object | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> "FeedFilters":
        """`flagged_only=true`, `min_risk_level=HIGH` from a query string; raises FeedParameterError."""
        flagged = (query.get("flagged_only") or "").strip().lower()
        if flagged not in _TRUE | _FALSE:
            raise FeedParameterError("flagged_only", "flagged_only must be true or false.")
        level = (query.get("min_risk_level") or "").strip().upper() or None
        if level is not None and level not in RISK_LEVELS:
            raise FeedParameterError("min_risk_level", f"min_risk_level must be one of {', '.join(RISK_LEVELS)}.")
        return cls(is_flagged_only=flagged in _TRUE, min_risk_level=level)

    @property
    def risk_levels(self) -> tuple[str, ...]:
        if self.min_risk_level is None:
            return RISK_LEVELS
        return RISK_LEVELS[RISK_LEVELS.index(self.min_risk_level) :]

    def matches(self, *, risk_level: str, is_flagged: bool) -> bool:
        return (is_flagged or not self.is_flagged_only) and risk_level in self.risk_levels


def parse_last_event_id(value: str | None) -> int | None:
    """The cursor a reconnecting client sends (`Last-Event-ID`, `last_event_id`); raises FeedParameterError."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if not value.isdigit():
        raise FeedParameterError("last_event_id", "last_event_id must be a non-negative integer (an event id).")
    return int(value)


# --- Relay hints ------------------------------------------------------------------------------


def decision_hint(event_id: int, *, risk_level: str | None, flagged) -> list:
    """What a subscriber needs to know about an event without reading it: [id, risk_level, flagged]."""
    return [event_id, risk_level, is_flagged(flagged)]


def is_flagged(flagged) -> bool:
    """A decision event's `flagged` as read out of its payload: JSON text ("true") on PostgreSQL, 1 on SQLite."""
    return flagged in (True, 1, "true")


def hint_message(hints: list[list]) -> dict:
    return {"type": "decisions.published", "events": hints}


class FeedReader:
    """One subscriber's cursor over the feed; reads are serialised, so no event is sent twice."""

    def __init__(self, *, filters: FeedFilters):
        self.filters = filters
        self.cursor = 0
        self._lock = asyncio.Lock()

    async def start(self, *, last_event_id: int | None) -> None:
        """Replay from `last_event_id` if given, else start at the newest event (nothing old is sent)."""
        if last_event_id is not None:
            self.cursor = last_event_id
        else:
            self.cursor = await database_sync_to_async(latest_event_id)(organisation_id=self.filters.organisation_id)

    @property
    def group(self) -> str:
        return decisions_group(self.filters.organisation_id)

    def wants(self, message: dict) -> bool:
        """Whether a relay hint names an event this subscriber has not passed and would receive."""
        return any(
            event_id > self.cursor and self.filters.matches(risk_level=level, is_flagged=flagged)
            for event_id, level, flagged in message.get("events", ())
        )

    async def read(self) -> list[dict]:
        """The next page of matching events after the cursor (empty when caught up); advances the cursor."""
        async with self._lock:
            events, self.cursor = await database_sync_to_async(decision_events_after)(
                after_id=self.cursor, filters=self.filters
            )
            return events


class HintSubscription:
    """Listens to a Channels group from its own task and raises a flag when a wanted hint arrives.

    The layer may be down (Redis stopped): failures are logged and retried, and the group is joined
    again afterwards, because a restarted Redis has forgotten its groups. Meanwhile subscribers
    keep polling the outbox, so they are only delayed.
    """

    def __init__(self, group: str, *, wants: Callable[[dict], bool], retry_s: float = 2.0):
        self.group = group
        self.wants = wants
        self.retry_s = retry_s
        self.arrived = asyncio.Event()
        self._layer = get_channel_layer()
        self._channel: str | None = None
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> "HintSubscription":
        if self._layer is not None:
            self._task = asyncio.create_task(self._listen())
        return self

    async def __aexit__(self, *exc_info) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):  # cancelled, or had already failed
                await self._task
        if self._channel is not None:
            try:
                await asyncio.wait_for(self._layer.group_discard(self.group, self._channel), timeout=2)
            except Exception:
                logger.debug("feed: could not leave %s (it expires on its own)", self.group, exc_info=True)

    async def wait(self, timeout_s: float) -> bool:
        """True if a wanted hint arrived within `timeout_s` (the flag is cleared)."""
        try:
            await asyncio.wait_for(self.arrived.wait(), timeout=timeout_s)
        except TimeoutError:
            return False
        self.arrived.clear()
        return True

    async def _listen(self) -> None:
        while True:
            try:
                if self._channel is None:
                    self._channel = await self._layer.new_channel()
                await self._layer.group_add(self.group, self._channel)
                await self._receive_until_renewal()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("feed: channel layer unavailable; polling the outbox meanwhile", exc_info=True)
                self.arrived.set()  # read now: hints may have been lost
                await asyncio.sleep(self.retry_s)

    async def _receive_until_renewal(self) -> None:
        loop = asyncio.get_running_loop()
        renew_at = loop.time() + GROUP_RENEW_S
        while (remaining := renew_at - loop.time()) > 0:
            try:
                message = await asyncio.wait_for(self._layer.receive(self._channel), timeout=remaining)
            except TimeoutError:
                return
            if self.wants(message):
                self.arrived.set()
