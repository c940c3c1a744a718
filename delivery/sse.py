"""Server-Sent Events: the framing, and the async generator behind GET /api/v1/stream/decisions."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from django.db import DatabaseError

from delivery.feed import FeedReader, HintSubscription

logger = logging.getLogger(__name__)


def sse_event(event: dict) -> str:
    """One event: `id: <outbox id>`, `event: <type>`, `data: <json>` (one line: JSON has no raw newlines)."""
    data = json.dumps(event["data"], separators=(",", ":"))
    return f"id: {event['id']}\nevent: {event['type']}\ndata: {data}\n\n"


async def decision_stream(
    *,
    reader: FeedReader,
    heartbeat_s: float,
    poll_s: float,
    retry_ms: int,
    still_allowed: Callable[[], Awaitable[bool]] | None = None,
) -> AsyncIterator[str]:
    """Replay after the reader's cursor, then follow relay hints (and poll) until the client leaves.

    `still_allowed` is asked at every heartbeat; when it says no (the key was revoked or expired)
    the stream ends, and the client's reconnect gets the 401. Django cancels this generator when
    the client disconnects; the subscription is left on the way out.
    """
    loop = asyncio.get_running_loop()
    async with HintSubscription(reader.group, wants=reader.wants, retry_s=poll_s) as hints:
        yield f"retry: {retry_ms}\n\n"
        last_sent = loop.time()
        while True:
            try:
                while events := await reader.read():
                    yield "".join(sse_event(event) for event in events)
                    last_sent = loop.time()
            except DatabaseError:  # the database is restarting, or busy: the cursor is kept, read again later
                logger.warning("sse: reading the outbox failed; retrying", exc_info=True)
            if loop.time() - last_sent >= heartbeat_s:
                if still_allowed is not None and not await still_allowed():
                    return
                yield ": heartbeat\n\n"
                last_sent = loop.time()
            wait_s = max(0.0, min(poll_s, heartbeat_s - (loop.time() - last_sent)))
            await hints.wait(wait_s)
