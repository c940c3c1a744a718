"""Sending messages to Channels groups from sync code: best effort, since the channel layer is a hint.

The channel layer is at-most-once; what the messages announce is in the database, and pages re-fetch it
when a message arrives or when their socket reconnects. A failed send is logged, never raised.
"""

import asyncio
import logging
import threading

from channels.layers import get_channel_layer
from django.conf import settings

from kernel.async_bridge import call_async

logger = logging.getLogger(__name__)

# Sends in flight at once: enough to overlap Redis round trips, below channels-redis' connection pool.
MAX_CONCURRENT_SENDS = 8


def group_send_many(sends: list[tuple[str, dict]]) -> None:
    """Send `(group, message)` pairs now; all of them in one event-loop round."""
    layer = get_channel_layer()
    if layer is None or not sends:
        return
    if _loop_running_here():
        # Sync code called on an event loop's thread (a script or test driving asyncio): async_to_sync
        # refuses to run there, so send from a short-lived thread.
        sender = threading.Thread(target=_send_now, args=(layer, sends))
        sender.start()
        sender.join(timeout=5)
        return
    _send_now(layer, sends)


def _send_now(layer, sends: list[tuple[str, dict]]) -> None:
    try:
        call_async(_send_all, layer, sends, timeout=settings.CHANNEL_LAYER_SEND_TIMEOUT_S)
    except Exception:  # a hint; readers re-fetch on reconnect, nothing is lost
        logger.warning("could not send %d live messages", len(sends), exc_info=True)


async def _send_all(layer, sends: list[tuple[str, dict]]) -> None:
    slots = asyncio.Semaphore(MAX_CONCURRENT_SENDS)

    async def send(group: str, message: dict) -> None:
        async with slots:
            await layer.group_send(group, message)

    results = await asyncio.gather(*(send(g, m) for g, m in sends), return_exceptions=True)
    failed = [r for r in results if isinstance(r, Exception)]
    if failed:
        logger.warning("%d of %d live messages not sent", len(failed), len(sends), exc_info=failed[0])


def _loop_running_here() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
