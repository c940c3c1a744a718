"""The MCP calls' database work on worker threads, with the connections it opened given back when it is done.

asgiref runs each `sync_to_async` call in a copy of the caller's context, and Django keeps its connections
per context: a connection opened by one call is never reused by the next. So each call closes its own when
it ends: under daphne (DATABASE_POOL_MAX) that returns them to the process' pool; elsewhere it closes them
rather than leaving them open until the garbage collector finds them. `thread_sensitive=False`: calls run in
parallel on the loop's executor, not one at a time on a single shared thread.
"""

import functools

from asgiref.sync import sync_to_async
from django.db import connections


async def on_worker_thread(function, *args, **kwargs):
    """`function(*args, **kwargs)` on a worker thread; its database connections are closed after it."""
    return await sync_to_async(_closing_connections(function), thread_sensitive=False)(*args, **kwargs)


def _closing_connections(function):
    @functools.wraps(function)
    def run(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        finally:
            connections.close_all()

    return run
