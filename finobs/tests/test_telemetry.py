"""OpenTelemetry: with an OTLP endpoint set, requests and Celery tasks arrive there as spans, and one ingest
request is one trace: its queries, scoring stages and outbox write, and the worker's explanation of its
flagged decisions.

A real OTLP/HTTP receiver (a local HTTP server decoding the protobuf export) and separate processes
configured only through the standard OTEL_* variables, as in production.
"""

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from conftest import child_database_env, run_daphne, suspicious_record, transaction_record, wait_until

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import django
django.setup()
from django.test import Client
from opentelemetry import trace
from finobs.celery import app

assert Client().get("/health/live").status_code == 200

@app.task(name="finobs.telemetry_probe")
def probe():
    return 1

probe.apply()
trace.get_tracer_provider().force_flush()
"""


@dataclass(frozen=True)
class Span:
    service: str
    path: str  # where it was exported to
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    attributes: dict


def _value(value):
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None


class _Collector(BaseHTTPRequestHandler):
    spans: list[Span] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}["service.name"]
            for scope_spans in resource_spans.scope_spans:
                _Collector.spans += [
                    Span(
                        service,
                        self.path,
                        span.name,
                        span.trace_id.hex(),
                        span.span_id.hex(),
                        span.parent_span_id.hex(),
                        {a.key: _value(a.value) for a in span.attributes},
                    )
                    for span in scope_spans.spans
                ]
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def collector() -> Iterator[str]:
    """A local OTLP/HTTP receiver; yields its address. What it received is in _Collector.spans."""
    _Collector.spans = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_requests_and_tasks_are_exported_over_otlp(collector):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "DATABASE_URL", "REDIS_URL"))},
        "DJANGO_SETTINGS_MODULE": "finobs.settings",
        "OTEL_EXPORTER_OTLP_ENDPOINT": collector,
        "OTEL_SERVICE_NAME": "finobs-test",
    }
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    names = {span.name for span in _Collector.spans if span.service == "finobs-test" and span.path == "/v1/traces"}
    assert "GET health/live" in names
    assert "run/finobs.telemetry_probe" in names


@pytest.fixture
def traced_web_and_worker(collector, transactional_db) -> Iterator[str]:
    """finobs under daphne and (with Redis) a Celery worker, both tracing to the collector, on the test
    database; yields the server's base URL. Without Redis, tasks run in the web process, as embedded."""
    otel = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector, "OTEL_BSP_SCHEDULE_DELAY": "200"}
    env = {**child_database_env(), **otel, "REDIS_URL": settings.REDIS_URL or "", "DEBUG": "1"}
    worker = None
    if settings.REDIS_URL:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "finobs", "worker", "--pool=solo", "--without-mingle"],
            cwd=ROOT,
            env={**os.environ, **env, "OTEL_SERVICE_NAME": "finobs-worker"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    try:
        yield from run_daphne({**env, "OTEL_SERVICE_NAME": "finobs-web"})
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)


@pytest.mark.server
def test_one_ingest_request_is_one_trace_through_to_the_workers_explanation(champion, api_key, traced_web_and_worker):
    _, raw = api_key
    response = httpx.post(
        f"{traced_web_and_worker}/api/v1/transactions/ingest",
        json=[transaction_record(1), suspicious_record(2)],
        headers={"X-Webhook-Key": raw},
        timeout=60,
    )
    assert response.status_code == 200
    request_id = response.headers["X-Request-ID"]

    def named(name: str) -> list[Span]:
        return [span for span in _Collector.spans if span.name == name]

    def the_request():
        return [span for span in _Collector.spans if span.attributes.get("finobs.request_id") == request_id]

    # The worker starts (and imports SHAP) while the request is served: allow it a minute. Spans are
    # exported as they end, in batches: the explanation's before the request's when tasks run in-process.
    explain_task = "run/scoring.tasks.explain_decisions_task"
    assert wait_until(lambda: named("scoring.explain") and named(explain_task) and the_request(), timeout_s=90)
    (server_span,) = the_request()
    assert server_span.name == "POST api/v1/transactions/ingest" and server_span.service == "finobs-web"
    trace = [span for span in _Collector.spans if span.trace_id == server_span.trace_id]
    names = {span.name for span in trace}
    assert {"ingest.validate", "ingest.transaction", "ingest.outbox", "ingest.audit"} <= names
    assert {"scoring.features", "scoring.model", "scoring.rules", "scoring.insert"} <= names
    database = "postgresql" if settings.DATABASES["default"]["ENGINE"].endswith("postgresql") else "sqlite"
    assert any(span.attributes.get("db.system") == database for span in trace)
    # The explanation continues the request's trace, in the worker (with Redis), as a child of its task.
    (explain,) = named("scoring.explain")
    assert explain.trace_id == server_span.trace_id
    assert explain.service == ("finobs-worker" if settings.REDIS_URL else "finobs-web")
    (task,) = [span for span in trace if span.name == explain_task]
    assert explain.parent_id == task.span_id
    # The outbox relay, serving every request, runs in a trace of its own.
    relays = named("run/delivery.tasks.outbox_relay_task")
    assert relays and all(span.trace_id != server_span.trace_id for span in relays)
    # Every span of the trace hangs from the request's: one tree, no orphan.
    ids = {span.span_id for span in trace}
    assert [span.name for span in trace if span.parent_id not in ids] == [server_span.name]


@pytest.mark.server
def test_an_mcp_tool_call_is_one_span_holding_the_work_it_did(champion, traced_web_and_worker):
    from finobs.tests.test_mcp import call, make_key, ok

    key, raw = make_key()
    assert ok(call(traced_web_and_worker, raw, "ingest_transactions", {"transactions": [transaction_record(1)]}))

    def tool_spans() -> list[Span]:
        return [span for span in _Collector.spans if span.name == "mcp.tool ingest_transactions"]

    assert wait_until(lambda: tool_spans() and any(s.name == "ingest.validate" for s in _Collector.spans), 60)
    (tool,) = tool_spans()
    assert tool.service == "finobs-web"
    assert tool.attributes["tool"] == "ingest_transactions" and tool.attributes["api_key"] == key.prefix
    inside = {span.name for span in _Collector.spans if span.trace_id == tool.trace_id}
    assert {"ingest.validate", "ingest.transaction", "scoring.model"} <= inside
