"""OpenTelemetry: with an OTLP endpoint set, requests and Celery tasks arrive there as spans.

A real OTLP/HTTP receiver (a local HTTP server decoding the protobuf export) and a separate
process configured only through the standard OTEL_* variables, as in production.
"""

import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

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


class _Collector(BaseHTTPRequestHandler):
    spans: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}["service.name"]
            for scope_spans in resource_spans.scope_spans:
                _Collector.spans += [(service, self.path, span.name) for span in scope_spans.spans]
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_requests_and_tasks_are_exported_over_otlp(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "DATABASE_URL", "REDIS_URL"))},
        "DJANGO_SETTINGS_MODULE": "finobs.settings",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_port}",
        "OTEL_SERVICE_NAME": "finobs-test",
    }
    try:
        done = subprocess.run(
            [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr
    names = {name for service, path, name in _Collector.spans if service == "finobs-test" and path == "/v1/traces"}
    assert "GET health/live" in names
    assert "run/finobs.telemetry_probe" in names
