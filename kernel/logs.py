"""Structured logs: every line a JSON object in production (readable text in development), carrying who and
what it belongs to -- the request id, the user, the API key's prefix, the OpenTelemetry trace.

django-structlog binds the request id (X-Request-ID from a trusted proxy, else a new one) and the user at
the start of each request, and carries them into the Celery tasks the request starts; the API key's
prefix is bound when a key authenticates; the trace and span ids are read from OpenTelemetry's current
span when a line is written. Logs of libraries (Django, Celery, httpx) go through the same processors.
"""

import logging

import structlog


def add_trace_ids(logger, method_name: str, event_dict: dict) -> dict:
    """The current OpenTelemetry trace and span ids, when a span is recording (tracing on)."""
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict


SHARED_PROCESSORS = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    add_trace_ids,
]


# Libraries that announce themselves at INFO on every start-up (django-axes its configuration, once per app
# loading; daphne its listening lines): at WARNING unless LOG_LEVEL names a level for everything.
CHATTY_LIBRARIES = ("axes", "daphne")


def logging_config(*, as_json: bool, level: str, library_level: str = "WARNING") -> dict:
    """The LOGGING setting: standard logging's lines rendered by structlog, JSON or console; CHATTY_LIBRARIES
    at `library_level`."""
    renderer = structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer(colors=False)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    renderer,
                ],
                "foreign_pre_chain": SHARED_PROCESSORS,
            }
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.channels.server": {"level": "WARNING"},
            # httpx logs every request at INFO; a callback URL may carry a token in its query string.
            "httpx": {"level": "WARNING"},
            **{name: {"level": library_level} for name in CHATTY_LIBRARIES},
        },
    }


def configure_structlog() -> None:
    """structlog's own loggers (django-structlog's) hand their lines to standard logging (once per process)."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *SHARED_PROCESSORS,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def bind(**values) -> None:
    """Add `values` to every log line of the current request or task."""
    structlog.contextvars.bind_contextvars(**values)


class EchoRequestIdMiddleware:
    """`X-Request-ID` on every response: the id the request's log lines and trace carry (after
    django-structlog's RequestMiddleware, which binds it). The server span is tagged with it too."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = structlog.contextvars.get_contextvars().get("request_id")
        if request_id:
            from opentelemetry import trace

            trace.get_current_span().set_attribute("finobs.request_id", request_id)
        response = self.get_response(request)
        if request_id:
            response["X-Request-ID"] = request_id
        return response


logging.captureWarnings(True)
