"""Calling async code (the channel layer) from sync code, on an event loop that outlives the call.

`async_to_sync` called where no event loop runs -- a Celery worker -- makes a new loop for every call,
and channels-redis keeps its Redis connections per loop: every outbox relay paid a new loop, a new
Redis connection and redis-py's client setup (it reads its own package metadata per connection).
Worker processes therefore start one loop on a daemon thread (`use_process_loop`, from
finobs.celery at worker_process_init) and send every coroutine to it; its connections stay open.
Elsewhere (the web process, in-process tasks, tests) `async_to_sync` runs the call as before, on the
server's loop where there is one.
"""

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import TimeoutError as FutureTimeout

from asgiref.sync import async_to_sync

_lock = threading.Lock()
_enabled = False
_loop: asyncio.AbstractEventLoop | None = None


def use_process_loop() -> None:
    """From now on, `call_async` in this process runs coroutines on one loop kept for the process."""
    global _enabled
    _enabled = True


def call_async(function: Callable[..., Awaitable], *args, timeout: float):
    """`await function(*args)` from sync code and return its result; raises TimeoutError after `timeout` s."""
    if not _enabled:
        return async_to_sync(function)(*args)
    future = asyncio.run_coroutine_threadsafe(function(*args), _process_loop())
    try:
        return future.result(timeout)
    except FutureTimeout:
        if future.done():
            raise  # the coroutine's own TimeoutError (FutureTimeout is the builtin since Python 3.11)
        future.cancel()
        raise TimeoutError(f"{getattr(function, '__qualname__', function)} took longer than {timeout} s") from None


def _process_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="async-bridge", daemon=True).start()
            _loop = loop
        return _loop


def _forget_loop_after_fork() -> None:
    # A forked child has the parent's loop object but not its thread: it starts a loop of its own.
    global _loop, _lock
    _loop, _lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_loop_after_fork)
