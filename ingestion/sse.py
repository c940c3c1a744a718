"""Server-Sent Events: the framing, and the async generator behind GET /api/v1/stream/decisions."""

import asyncio
import json
from collections.abc import AsyncIterator

from ingestion.feed import DECISIONS_GROUP, FeedReader, HintSubscription


def sse_event(event: dict) -> str:
    """One event: `id: <outbox id>`, `event: <type>`, `data: <json>` (one line: JSON has no raw newlines)."""
    data = json.dumps(event["data"], separators=(",", ":"))
    return f"id: {event['id']}\nevent: {event['type']}\ndata: {data}\n\n"


async def decision_stream(
    *, reader: FeedReader, heartbeat_s: float, poll_s: float, retry_ms: int
) -> AsyncIterator[str]:
    """Replay after the reader's cursor, then follow relay hints (and poll) until the client leaves.

    Django cancels this generator when the client disconnects; the subscription is left in `finally`.
    """
    loop = asyncio.get_running_loop()
    async with HintSubscription(DECISIONS_GROUP, wants=reader.wants, retry_s=poll_s) as hints:
        yield f"retry: {retry_ms}\n\n"
        last_sent = loop.time()
        while True:
            while events := await reader.read():
                yield "".join(sse_event(event) for event in events)
                last_sent = loop.time()
            if loop.time() - last_sent >= heartbeat_s:
                yield ": heartbeat\n\n"
                last_sent = loop.time()
            wait_s = max(0.0, min(poll_s, heartbeat_s - (loop.time() - last_sent)))
            await hints.wait(wait_s)
