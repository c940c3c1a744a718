"""Live stream delivery: a 10,000-item batch reaching SSE subscribers through the outbox relay.

Needs PostgreSQL and Redis (channels-redis), as in production:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/finobs_bench REDIS_URL=redis://127.0.0.1:6379/1 \
        python bench/stream.py --subscribers 4

It starts daphne with the poll fallback slowed to a minute (so delivery goes through relay hints),
opens N SSE subscribers, POSTs a fresh 10,000-item batch, runs the relay here once the POST has
answered (what the on-commit Celery task does), and prints the relay's time, the time from the relay
starting to every subscriber holding every event, and the size of what went through the channel
layer: compact hints against the payload messages the relay used to send (the baseline, measured
on the same events).
"""

import argparse
import os
import socket
import sys
import threading
import time

import msgpack
from ingest import ROOT, bench_api_key, bench_organisation, next_records, wait_until_up

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finobs.settings")


class Subscriber(threading.Thread):
    def __init__(self, url: str, key: str, expected: int):
        super().__init__(daemon=True)
        self.url, self.key, self.expected = url, key, expected
        self.ids: list[int] = []
        self.connected = threading.Event()
        self.done_at: float | None = None

    def run(self):
        import httpx

        with httpx.stream("GET", self.url, headers={"Authorization": f"Bearer {self.key}"}, timeout=120) as response:
            for line in response.iter_lines():
                self.connected.set()
                if line.startswith("id: "):
                    self.ids.append(int(line[4:]))
                    if len(self.ids) >= self.expected:
                        self.done_at = time.perf_counter()
                        return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--subscribers", type=int, default=4)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
        raise SystemExit("Set DATABASE_URL (PostgreSQL) and REDIS_URL (see the docstring).")
    import subprocess

    import django

    django.setup()
    import httpx
    from django.core.management import call_command

    from delivery.feed import decision_hint, hint_message
    from delivery.models import OutboxEvent
    from delivery.selectors import events_data
    from delivery.services.relay import HINTS_PER_MESSAGE, outbox_relay
    from scoring.models import ModelVersion
    from scoring.services import model_train

    call_command("migrate", verbosity=0)
    organisation = bench_organisation()  # the default organisation unless BENCH_ORGANISATION names one
    if not ModelVersion.objects.filter(status="champion").exists():
        model_train(actor="bench")
    key = bench_api_key(organisation, scopes=["ingest", "stream"])
    with socket.socket() as probe:  # a free port for daphne
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DEBUG": "1", "STREAM_POLL_S": "60"}
    quiet = {"cwd": ROOT, "env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "finobs.asgi:application"], **quiet
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/health/live")
        with httpx.Client(base_url=base, timeout=120, headers={"X-Webhook-Key": key}) as client:
            client.post("/api/v1/transactions/ingest", json=next_records(200))  # warm up
            outbox_relay()
            subscribers = [
                Subscriber(f"{base}/api/v1/stream/decisions", key, args.items) for _ in range(args.subscribers)
            ]
            for subscriber in subscribers:
                subscriber.start()
            for subscriber in subscribers:
                if not subscriber.connected.wait(timeout=30):
                    raise SystemExit("a subscriber did not connect")
            first_id = OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
            records = next_records(args.items)
            started = time.perf_counter()
            response = client.post("/api/v1/transactions/ingest", json=records)
            answered = time.perf_counter() - started
            if response.status_code != 200 or response.json()["accepted"] != args.items:
                raise SystemExit(f"batch failed: {response.status_code} {response.text[:300]}")
            relay_started = time.perf_counter()
            relayed = outbox_relay()
            relay_s = time.perf_counter() - relay_started
            for subscriber in subscribers:
                subscriber.join(timeout=120)
    finally:
        server.terminate()
        server.wait(timeout=30)

    if any(s.done_at is None for s in subscribers):
        raise SystemExit(f"subscribers received {[len(s.ids) for s in subscribers]} of {args.items} events")
    events = list(
        OutboxEvent.objects.filter(id__gt=first_id, event_type="decision.created")
        .order_by("id")
        .values("id", "event_type", "payload")
    )
    expected_ids = [e["id"] for e in events]
    assert all(s.ids == expected_ids for s in subscribers), "a subscriber missed or repeated an event"
    delivered = max(s.done_at for s in subscribers) - relay_started
    hints = [
        decision_hint(e["id"], risk_level=e["payload"]["risk_level"], flagged=e["payload"]["flagged"]) for e in events
    ]
    hint_bytes = sum(
        len(msgpack.packb(hint_message(hints[i : i + HINTS_PER_MESSAGE]))) for i in range(0, len(hints), 1000)
    )
    data = events_data([(e["event_type"], e["payload"]) for e in events])
    payloads = [{"id": e["id"], "type": e["event_type"], "data": d} for e, d in zip(events, data, strict=True)]
    payload_bytes = sum(
        len(msgpack.packb({"type": "decisions.published", "events": payloads[i : i + 500]}))
        for i in range(0, len(payloads), 500)
    )
    print(f"{args.items} events to {args.subscribers} SSE subscribers, each once in id order")
    print(f"POST answered in {answered:.2f} s; relay published {relayed} events in {relay_s:.2f} s")
    print(f"relay start -> every subscriber holds every event: {delivered:.2f} s")
    print(
        f"channel layer traffic per group: hints {hint_bytes / 1024:.0f} KiB in {-(-len(hints) // HINTS_PER_MESSAGE)} "
        f"messages; payload messages (previous relay) {payload_bytes / 1024:.0f} KiB: {payload_bytes / hint_bytes:.0f}x"
    )


if __name__ == "__main__":
    main()
