"""Group commit for small ingest requests: concurrent requests of one source share one ingest() run.

A request of one transaction costs nearly the fixed work of a batch of a hundred: the history queries,
the transaction, the audit chain's lock (held to commit, so concurrent ingests commit one after the
other) and the commit's WAL flush. Eight integrator threads sending one transaction each therefore
queued behind each other's commits. Here the first request to arrive for a (source, actor) runs
ingest() on every request of that pair waiting meanwhile (it leads the run), and each request gets its
own part of the result back (IngestResult.part): its indexes, errors, duplicates and decisions, as if
it had run alone. Nothing waits for a timer: on an idle server a lone request runs at once; on a busy
one, whatever arrived while the previous run committed goes in the next run.

Only the API's small requests take this path (INGEST_COALESCE_MAX_REQUEST_ITEMS); a run holds at most
INGEST_COALESCE_MAX_RUN_ITEMS items. If a shared run fails, its requests run again one by one, so one
request's failure cannot become another's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings

from ingestion.services.pipeline import IngestResult, ingest


@dataclass(eq=False)
class _Request:
    records: list
    arrived: float = field(default_factory=time.perf_counter)
    started: float = 0.0  # when the run holding it began
    result: IngestResult | None = None
    error: Exception | None = None
    done: bool = False


@dataclass(eq=False)
class _Queue:
    waiting: list[_Request] = field(default_factory=list)
    running: bool = False


_changed = threading.Condition()
_queues: dict[tuple, _Queue] = {}


def ingest_coalesced(records: Sequence, *, organisation, source: str, actor) -> IngestResult:
    """ingest(records, organisation=..., source=..., actor=...), sharing the run with concurrent requests of the
    same organisation, source and actor."""
    if len(records) > settings.INGEST_COALESCE_MAX_REQUEST_ITEMS:
        return ingest(records, organisation=organisation, source=source, actor=actor)
    key = (organisation.pk, source, _actor_key(actor))
    request = _Request(list(records))
    with _changed:
        # The queue stays in _queues while it has waiting requests or a run (see below).
        queue = _queues.setdefault(key, _Queue())
        queue.waiting.append(request)
    while True:
        with _changed:
            while queue.running and not request.done:
                _changed.wait()
            if request.done:
                break
            queue.running = True
            run = _take(queue)
        try:
            _run(run, organisation=organisation, source=source, actor=actor)
        finally:
            with _changed:
                queue.running = False
                if not queue.waiting:
                    del _queues[key]
                _changed.notify_all()
    if request.error is not None:
        raise request.error
    # Server-Timing: how long it waited for the run before it.
    request.result.timings_ms["queued"] = (request.started - request.arrived) * 1000
    return request.result


def _actor_key(actor) -> tuple:
    return (type(actor).__name__, getattr(actor, "pk", actor))


def _take(queue: _Queue) -> list[_Request]:
    """The waiting requests, oldest first, up to INGEST_COALESCE_MAX_RUN_ITEMS items (at least one)."""
    run, items = [], 0
    while queue.waiting and (
        not run or items + len(queue.waiting[0].records) <= settings.INGEST_COALESCE_MAX_RUN_ITEMS
    ):
        request = queue.waiting.pop(0)
        run.append(request)
        items += len(request.records)
    return run


def _run(run: list[_Request], *, organisation, source: str, actor) -> None:
    started = time.perf_counter()
    for request in run:
        request.started = started
    try:
        if len(run) == 1:
            _run_alone(run[0], organisation=organisation, source=source, actor=actor)
            return
        try:
            records = [record for request in run for record in request.records]
            result = ingest(records, organisation=organisation, source=source, actor=actor)
        except Exception:
            # The shared transaction rolled back as a whole: each request again on its own.
            for request in run:
                _run_alone(request, organisation=organisation, source=source, actor=actor)
            return
        start = 0
        for request in run:
            request.result = result.part(start, start + len(request.records))
            start += len(request.records)
    finally:
        for request in run:
            if request.result is None and request.error is None:  # the leader was interrupted mid-run
                request.error = RuntimeError("The shared ingest run was interrupted; nothing was stored for it.")
            request.done = True


def _run_alone(request: _Request, *, organisation, source: str, actor) -> None:
    try:
        request.result = ingest(request.records, organisation=organisation, source=source, actor=actor)
    except Exception as exc:
        request.error = exc
