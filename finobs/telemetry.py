"""Tracing with OpenTelemetry: every Django request, WebSocket connection and Celery task becomes a span,
with the database queries (psycopg, or sqlite3 in the embedded mode) and Redis commands it runs, and
finobs' own stages (kernel.tracing: ingest, scoring's features, model, rules and SHAP, the outbox relay,
callback deliveries) inside it; a task queued by a request continues the request's trace. Sent over OTLP.

Off unless an OTLP endpoint is configured (the standard OTEL_EXPORTER_OTLP_ENDPOINT or
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT variables; OTEL_SERVICE_NAME names the process, default
"finobs"). The exporter batches in a background thread, so a slow collector never slows a request.
"""

import logging
import os

logger = logging.getLogger(__name__)

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_configured = False


def is_tracing_configured() -> bool:
    return any(os.environ.get(name) for name in ENDPOINT_VARIABLES)


def configure_tracing() -> bool:
    """Instrument Django and Celery once per process when an endpoint is set; True when tracing is on.

    Call it before Django builds its middleware chain (FinobsConfig.ready() does): the Django
    instrumentation works by adding its middleware to settings.MIDDLEWARE.
    """
    global _configured
    if _configured or not is_tracing_configured():
        return _configured
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlite3 import SQLite3Instrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME", "finobs")}))
    # The SDK re-creates the batch thread after fork, so prefork Celery workers export too.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument()
    CeleryInstrumentor().instrument()
    # Connections opened from now on are traced: this runs in AppConfig.ready(), before any is.
    PsycopgInstrumentor().instrument()
    SQLite3Instrumentor().instrument()
    RedisInstrumentor().instrument()
    _configured = True
    logger.info("OpenTelemetry tracing on: requests, tasks, queries and Redis commands are exported over OTLP")
    return True


def traced_websockets(application):
    """`application` (Channels' WebSocket router) with a span per connection when tracing is on. HTTP requests
    have theirs from the Django instrumentation, SSE streams included."""
    if not _configured:
        return application
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return OpenTelemetryMiddleware(application)
