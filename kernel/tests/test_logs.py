"""Structured logs: one JSON object per line, each carrying the request id, the user or API key, and (in a
worker) the request id of the request that queued the task; X-Request-ID on every response."""

import io
import json
import logging
import uuid

import pytest
from django.test import Client

from conftest import suspicious_record, transaction_record, wait_until
from kernel.logs import logging_config


@pytest.fixture
def log_lines():
    """Every line logged while the test runs, as finobs writes it in production (JSON), parsed. (After a
    Celery worker fixture: a starting worker configures logging anew.)"""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_json_formatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    def read() -> list[dict]:
        handler.flush()
        return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]

    yield read
    root.removeHandler(handler)
    root.setLevel(level)


def _json_formatter() -> logging.Formatter:
    options = dict(logging_config(as_json=True, level="INFO")["formatters"]["structured"])
    return options.pop("()")(**options)


def test_every_response_carries_a_new_request_id(client):
    first, second = client.get("/health/live"), client.get("/health/live")
    assert uuid.UUID(first["X-Request-ID"]) != uuid.UUID(second["X-Request-ID"])


def test_a_clients_request_id_is_trusted_only_behind_a_proxy_that_sets_it(client, settings):
    assert client.get("/health/live", HTTP_X_REQUEST_ID="forged")["X-Request-ID"] != "forged"
    settings.DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True
    assert client.get("/health/live", HTTP_X_REQUEST_ID="from-proxy-1")["X-Request-ID"] == "from-proxy-1"


def test_an_api_request_logs_json_lines_with_its_request_id_and_key_prefix(champion, api_key, log_lines):
    key, raw = api_key
    response = Client(HTTP_X_WEBHOOK_KEY=raw).post(
        "/api/v1/transactions/ingest", json.dumps([transaction_record(1)]), "application/json"
    )
    assert response.status_code == 200
    finished = [line for line in log_lines() if line["event"] == "request_finished"]
    assert len(finished) == 1
    assert finished[0]["request_id"] == response["X-Request-ID"]
    assert finished[0]["api_key"] == key.prefix
    assert finished[0]["code"] == 200
    assert finished[0]["level"] == "info" and "timestamp" in finished[0]
    assert raw not in json.dumps(log_lines())  # the key itself is never logged


def test_a_persons_request_logs_their_user_id(make_user, log_lines):
    analyst = make_user("analyst")
    client = Client()
    client.force_login(analyst)
    response = client.get("/cases/")
    assert response.status_code == 200
    finished = next(line for line in log_lines() if line["event"] == "request_finished")
    assert finished["user_id"] == analyst.pk
    assert finished["request_id"] == response["X-Request-ID"]


def test_standard_logging_lines_carry_the_request_context(log_lines):
    """A library's line (standard logging, not structlog) written inside a request carries its id too."""
    from kernel.logs import bind

    bind(request_id="req-42")
    try:
        logging.getLogger("some.library").warning("disk %s", "almost full")
    finally:
        import structlog

        structlog.contextvars.clear_contextvars()
    (line,) = log_lines()
    assert line == {**line, "event": "disk almost full", "request_id": "req-42", "logger": "some.library"}


def test_lines_written_in_a_span_carry_its_trace_and_span_ids(log_lines):
    from opentelemetry.sdk.trace import TracerProvider

    with TracerProvider().get_tracer("tests").start_as_current_span("work") as span:
        logging.getLogger("finobs").info("inside")
    (line,) = log_lines()
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert line["span_id"] == format(span.get_span_context().span_id, "016x")


@pytest.mark.redis
def test_a_workers_task_logs_the_request_id_that_queued_it(champion, api_key, celery_worker_if_queued, log_lines):
    """The explain task, queued by the outbox relay (which serves every request) for this request's flagged
    decision, logs this request's id: it is kept with the decision's event (kernel.tracing.origin)."""
    _, raw = api_key
    response = Client(HTTP_X_WEBHOOK_KEY=raw).post(
        "/api/v1/transactions/ingest", json.dumps([suspicious_record(1)]), "application/json"
    )
    assert response.status_code == 200

    def task_lines():
        return [line for line in log_lines() if line["event"] == "task_succeeded"]

    assert wait_until(lambda: any(line.get("request_id") == response["X-Request-ID"] for line in task_lines()))
    line = next(line for line in task_lines() if line.get("request_id") == response["X-Request-ID"])
    assert line["task_id"] and "duration_ms" in line and line["api_key"]
    relays = [line for line in log_lines() if line["event"] == "task_started" and "outbox_relay" in line["task"]]
    assert relays and all("request_id" not in line for line in relays)
