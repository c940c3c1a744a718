"""CSV uploads and the event loop: how long other requests wait while a ~6 MB upload is POSTed to daphne.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/finobs_bench_upload REDIS_URL=redis://127.0.0.1:6379/14 \
        python bench/upload.py --uploads 5

Needs REDIS_URL, so that an upload's rows are queued for a worker (none runs here: what was queued is
dropped from that Redis database after) instead of being ingested inside the request. It migrates the
database, trains a champion if there is none, starts one daphne process and signs in an analyst. A
probe thread then GETs /health/live back to back on a keep-alive connection while the main thread
POSTs `--uploads` CSV files through the upload form (one more first, to warm the view). Per upload
it prints the POST's time and the worst probe during it: how long daphne's event loop served no one.
The baseline, in the same run, is the probe's median with nothing else going on.
"""

import argparse
import csv
import http.client
import io
import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time

from ingest import ROOT, bench_organisation, next_records, server_env, wait_until_up

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finobs.settings")


def csv_bytes(size: int) -> bytes:
    """A CSV upload of the seeded accounts' next transactions, about `size` bytes."""
    columns = ["external_id", "account_id", "amount", "currency", "timestamp", "merchant_id", "country", "channel"]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for record in next_records(80_000):
        writer.writerow([record.get(column) or "" for column in columns])
        if out.tell() >= size:
            break
    return out.getvalue().encode()


class Probe(threading.Thread):
    """GET /health/live back to back: (start, latency in s) of each."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            started = time.perf_counter()
            self.connection.request("GET", "/health/live")
            self.connection.getresponse().read()
            self.samples.append((started, time.perf_counter() - started))
            time.sleep(0.002)

    def worst_between(self, started: float, ended: float) -> float:
        """The longest wait of the probes sent from `started` (or just before) to `ended`."""
        return max(latency for at, latency in self.samples if started - 0.05 <= at <= ended)


def signed_in_analyst(organisation) -> str:
    """The session id of an analyst of `organisation` (who may upload; not staff, so no second factor)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    from organisations.models import Membership

    user, _ = get_user_model().objects.get_or_create(username="bench-upload")
    user.groups.add(Group.objects.get(name="analyst"))
    Membership.objects.update_or_create(user=user, defaults={"organisation": organisation})
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uploads", type=int, default=5)
    parser.add_argument("--mb", type=float, default=6.0, help="size of each CSV file")
    args = parser.parse_args()
    if not os.environ.get("REDIS_URL"):
        raise SystemExit("REDIS_URL is needed: without it the upload would be ingested inside the request")
    env = server_env()
    # This process signs the session in: with the server's secret key, or the server would not accept it.
    os.environ["SECRET_KEY"], os.environ["PII_HASH_SALT"] = env["SECRET_KEY"], env["PII_HASH_SALT"]
    import django

    django.setup()
    import httpx
    import redis
    from django.core.management import call_command

    from scoring.models import ModelVersion
    from scoring.services import model_train

    call_command("migrate", verbosity=0)
    organisation = bench_organisation()  # the default organisation unless BENCH_ORGANISATION names one
    if not ModelVersion.objects.filter(status="champion").exists():
        model_train(actor="bench")
    session = signed_in_analyst(organisation)
    csrf = secrets.token_hex(16)  # 32 characters: Django's unmasked CSRF secret
    data = csv_bytes(int(args.mb * 1024 * 1024))

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "finobs.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    uploads = []  # (POST s, worst probe s)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/health/live")
        probe = Probe(port)
        probe.start()
        time.sleep(1.0)
        idle_s = statistics.median(latency for _, latency in probe.samples)
        cookies = {"sessionid": session, "csrftoken": csrf}
        with httpx.Client(base_url=base, timeout=120, cookies=cookies, headers={"X-CSRFToken": csrf}) as client:
            for n in range(args.uploads + 1):  # the first warms the view
                time.sleep(0.5)
                started = time.perf_counter()
                response = client.post(
                    "/ingest/uploads/", files={"file": ("bench.csv", data, "text/csv")}, data={"source": "bench-upload"}
                )
                ended = time.perf_counter()
                post_s = ended - started
                if response.status_code != 302 or "/ingest/uploads/" not in response.headers["location"]:
                    raise SystemExit(f"upload failed: {response.status_code} {response.text[:500]}")
                time.sleep(0.3)  # the probe that was waiting during the POST has answered
                if n:
                    uploads.append((post_s, probe.worst_between(started, ended)))
        probe.stop.set()
        probe.join()
    finally:
        server.terminate()
        server.wait(timeout=30)
        redis.Redis.from_url(os.environ["REDIS_URL"]).delete("celery")  # the upload jobs queued for no worker

    for post_s, worst_s in uploads:
        size_mb = len(data) / 1e6
        print(f"upload {size_mb:.1f} MB: POST {post_s * 1000:.0f} ms; probe during it: worst {worst_s * 1000:.0f} ms")
    post_ms = statistics.median(post_s for post_s, _ in uploads) * 1000
    worst_ms = statistics.median(worst_s for _, worst_s in uploads) * 1000
    print(f"median of {len(uploads)} uploads: POST {post_ms:.0f} ms, probe worst {worst_ms:.0f} ms")
    print(f"probe with nothing else going on (the baseline): median {idle_s * 1000:.1f} ms; "
          f"worst during an upload / baseline: {worst_ms / (idle_s * 1000):.0f}x")  # fmt: skip


if __name__ == "__main__":
    main()
