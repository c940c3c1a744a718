"""kernel.async_bridge: a worker's channel-layer calls share one event loop; and its database connection lasts."""

import asyncio
import threading
import time

import pytest
from celery import shared_task
from channels.layers import get_channel_layer
from django.db import connection

from kernel import async_bridge
from kernel.async_bridge import call_async


@pytest.fixture
def process_loop(monkeypatch):
    monkeypatch.setattr(async_bridge, "_enabled", True)


async def _running_loop_and_thread():
    return asyncio.get_running_loop(), threading.current_thread().name


def test_outside_a_worker_calls_run_through_async_to_sync(monkeypatch):
    monkeypatch.setattr(async_bridge, "_enabled", False)  # a solo worker started by another test enables it
    loop, thread = call_async(_running_loop_and_thread, timeout=5)
    assert thread != "async-bridge"
    assert not loop.is_running()  # async_to_sync's loop lived for that one call


def test_in_a_worker_every_call_runs_on_the_one_loop_of_the_process(process_loop):
    first = call_async(_running_loop_and_thread, timeout=5)
    second = call_async(_running_loop_and_thread, timeout=5)
    assert first[0] is second[0] and first[0].is_running()
    assert first[1] == second[1] == "async-bridge"


def test_results_and_errors_come_back_to_the_caller(process_loop):
    async def divide(a, b):
        return a / b

    assert call_async(divide, 6, 3, timeout=5) == 2
    with pytest.raises(ZeroDivisionError):
        call_async(divide, 1, 0, timeout=5)


def test_a_timeout_inside_the_call_is_its_own(process_loop):
    async def give_up():
        raise TimeoutError("redis did not answer")

    with pytest.raises(TimeoutError, match="redis did not answer"):
        call_async(give_up, timeout=5)


def test_a_call_that_hangs_times_out_and_is_cancelled(process_loop):
    cancelled = threading.Event()

    async def hang():
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    started = time.monotonic()
    with pytest.raises(TimeoutError, match="hang"):
        call_async(hang, timeout=0.2)
    assert time.monotonic() - started < 5
    assert cancelled.wait(5)


@pytest.mark.redis
def test_group_sends_on_the_process_loop_reach_a_redis_subscriber(process_loop):
    layer = get_channel_layer()
    channel = call_async(layer.new_channel, timeout=5)
    call_async(layer.group_add, "bridge-test", channel, timeout=5)
    try:
        for n in range(3):
            call_async(layer.group_send, "bridge-test", {"type": "hint", "n": n}, timeout=5)
            assert call_async(layer.receive, channel, timeout=5) == {"type": "hint", "n": n}
    finally:
        call_async(layer.group_discard, "bridge-test", channel, timeout=5)


_backend_pids: list[int] = []


@shared_task
def _record_backend_pid() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        _backend_pids.append(cursor.fetchone()[0])


@pytest.mark.postgres
@pytest.mark.redis
def test_a_worker_keeps_its_database_connection_from_task_to_task(celery_worker_if_queued):
    assert celery_worker_if_queued is not None
    _backend_pids.clear()
    for _ in range(3):
        _record_backend_pid.delay()
    deadline = time.monotonic() + 30
    while len(_backend_pids) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    # Celery's Django fixup closed it around every task (a new PostgreSQL backend each) before CELERY_DB_REUSE_MAX.
    assert len(_backend_pids) == 3 and len(set(_backend_pids)) == 1
