"""Callbacks: fan-out of 10,000 outbox events into deliveries vs one INSERT per event, and signed sends per second.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/finobs_bench python bench/callbacks.py

It migrates that database, registers an endpoint that points at a local HTTP receiver (a thread),
appends the events to the outbox, times `deliveries_fan_out()` (the sends are only enqueued: on the
in-memory broker, or on Redis when REDIS_URL is set, purged afterwards), then times the naive
baseline (a Delivery INSERT per event) and prints the ratio. Last it sends `--sends` deliveries one
after another from this process (sign, POST, record) and prints sends per second and p50/p95.
"""

import argparse
import os
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finobs.settings")


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, format, *args):
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--sends", type=int, default=1_000)
    args = parser.parse_args()
    os.environ["CALLBACK_ALLOW_PRIVATE"] = "1"  # the receiver is on 127.0.0.1

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import transaction

    from delivery.models import CallbackEndpoint, Delivery, OutboxEvent
    from delivery.models.callbacks import new_webhook_id
    from delivery.services import callback_endpoint_create, deliveries_fan_out, delivery_send, outbox_append
    from finobs.celery import app

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database (it is migrated and written to).")
    app.conf.task_always_eager = False  # measure the fan-out, not the sends it enqueues
    call_command("migrate", verbosity=0)
    from bench.ingest import bench_organisation

    bench_organisation()  # the default organisation unless BENCH_ORGANISATION names one
    CallbackEndpoint.objects.filter(name__in=["bench", "naive"]).delete()  # left by an interrupted run

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    endpoint, _ = callback_endpoint_create(name="bench", url=url, event_types=["decision.created"], actor="bench")
    payload = {"external_id": "bench", "score": 0.93, "risk_level": "HIGH", "flagged": True, "amount": "98500.00"}
    with transaction.atomic():
        events = outbox_append(events=[("decision.created", {**payload, "n": n}) for n in range(args.events)])

    started = time.perf_counter()
    created = deliveries_fan_out()
    fan_out_s = time.perf_counter() - started
    assert created == args.events, created
    if settings.REDIS_URL:
        app.control.purge()

    baseline_endpoint, _ = callback_endpoint_create(name="naive", url=url, event_types=["bench.none"], actor="bench")
    started = time.perf_counter()
    for event in events:
        Delivery.objects.create(
            endpoint=baseline_endpoint, event=event, event_type=event.event_type, webhook_id=new_webhook_id()
        )
    naive_s = time.perf_counter() - started

    pending = list(Delivery.objects.filter(endpoint=endpoint).order_by("id").values_list("pk", flat=True))
    durations = []
    for delivery_id in pending[: args.sends]:
        begun = time.perf_counter()
        outcome = delivery_send(delivery_id=delivery_id)
        durations.append(time.perf_counter() - begun)
        assert outcome == "delivered", outcome
    send_s = sum(durations)
    quantiles = statistics.quantiles(durations, n=20)

    print(f"fan-out: {args.events} events -> {created} deliveries in {fan_out_s * 1000:.0f} ms "
          f"({created / fan_out_s:,.0f}/s); naive per-event INSERT {naive_s * 1000:.0f} ms; "
          f"ratio {naive_s / fan_out_s:.1f}x")  # fmt: skip
    p50_ms, p95_ms = quantiles[9] * 1000, quantiles[18] * 1000
    print(f"sends: {len(durations)} signed POSTs from one process in {send_s:.2f} s "
          f"({len(durations) / send_s:,.0f}/s); p50 {p50_ms:.1f} ms, p95 {p95_ms:.1f} ms")  # fmt: skip

    CallbackEndpoint.objects.filter(pk__in=[endpoint.pk, baseline_endpoint.pk]).delete()
    OutboxEvent.objects.filter(pk__in=[e.pk for e in events]).delete()
    server.shutdown()


if __name__ == "__main__":
    main()
