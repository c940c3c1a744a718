"""What a piece of work carries into the work it starts: its trace and its log context.

A request's spans and log lines share its trace id and request id; a Celery task queued while it runs
continues both (the Celery instrumentation and django-structlog put them in the message's headers).
Work queued later, on behalf of the request, by a process serving many requests at once -- the outbox
relay queueing explanations of flagged decisions -- gets them from the `origin` saved with what it
works on (`origin()` when saved, `continuing(origin)` when queueing), and work that serves everyone
(the relay itself) runs `detached()`, in a trace of its own, so it is not filed under whichever
request happened to wake it.

Spans are no-ops (a few microseconds) unless tracing is configured (finobs.telemetry).
"""

import contextlib
from collections.abc import Iterator

import structlog
from opentelemetry import context, propagate, trace

tracer = trace.get_tracer("finobs")

# The log context an origin keeps: who asked, and which request (not the task ids of the process saving it).
ORIGIN_LOG_KEYS = ("request_id", "user_id", "api_key")


def span(name: str, **attributes):
    """A span named `name` around a block, child of the current one (`with span("scoring.model", rows=n):`)."""
    return tracer.start_as_current_span(name, attributes=attributes or None)


def origin() -> dict | None:
    """The current trace (W3C traceparent) and log context, to save with work done later; None when empty."""
    saved = {key: value for key, value in structlog.contextvars.get_contextvars().items() if key in ORIGIN_LOG_KEYS}
    propagate.inject(saved)
    return saved or None


@contextlib.contextmanager
def continuing(saved: dict | None) -> Iterator[None]:
    """Run the block in the trace and log context of `saved` (from `origin()`), in place of the current ones."""
    saved = saved or {}
    token = context.attach(propagate.extract(saved, context=context.Context()))
    try:
        with _log_context({key: saved[key] for key in ORIGIN_LOG_KEYS if key in saved}):
            yield
    finally:
        context.detach(token)


def detached() -> contextlib.AbstractContextManager:
    """Run the block in no trace and no log context (work serving every request, queued by one of them)."""
    return continuing(None)


@contextlib.contextmanager
def _log_context(values: dict) -> Iterator[None]:
    """Only `values` in the log context for the block (structlog hides a key bound to Ellipsis), then the
    caller's context back as it was."""
    hidden = dict.fromkeys(structlog.contextvars.get_contextvars(), Ellipsis)
    tokens = structlog.contextvars.bind_contextvars(**{**hidden, **values})
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)
