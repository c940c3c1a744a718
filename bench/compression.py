"""A 10,000-item ingest answer gzipped and plain: its bytes on the wire and the time to its last byte.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/finobs_bench_gz REDIS_URL=redis://127.0.0.1:6379/13 \\
        python bench/compression.py

On any database (or with no DATABASE_URL, the embedded SQLite in var/): migrates, trains a champion if
there is none, starts daphne (with REDIS_URL also a Celery worker, as in production, and waits for it
to finish each batch's work before the next) and POSTs `--repeat` pairs of fresh `--items`-item batches
over one keep-alive connection, one batch asking for gzip (`Accept-Encoding: gzip`) and the next not,
alternately so that both see the same load. Prints, for each, the answer's bytes on the wire and the
median time from sending the request to its answer's last byte; the plain answer is the baseline.
Then the server's own cost of compressing one such answer (GZipMiddleware's gzip, level 6), timed
in-process, and what the bytes mean on a 100 Mbit/s link (computed, not measured).
"""

import argparse
import gzip
import http.client
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finobs.settings")

INGEST = "/api/v1/transactions/ingest"
LINK_BYTES_PER_S = 100e6 / 8


def post(connection: http.client.HTTPConnection, body: bytes, headers: dict) -> tuple[float, bytes, str]:
    """POST one batch: seconds to the answer's last byte, the answer as it came, its Content-Encoding."""
    started = time.perf_counter()
    connection.request("POST", INGEST, body, headers)
    response = connection.getresponse()
    answer = response.read()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise SystemExit(f"batch failed: {response.status} {answer[:300]!r}")
    return elapsed, answer, response.getheader("Content-Encoding", "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5, help="pairs of batches (one gzipped, one plain)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone
    from django.utils.text import compress_string

    from bench.ingest import (
        bench_api_key,
        bench_organisation,
        next_records,
        start_processes,
        wait_for_worker,
        wait_until_up,
    )
    from kernel.middleware import JsonGZipMiddleware
    from scoring.models import ModelVersion
    from scoring.services import model_train

    call_command("migrate", verbosity=0)
    organisation = bench_organisation()  # the default organisation unless BENCH_ORGANISATION names one
    if not ModelVersion.objects.filter(status="champion").exists():
        model_train(actor="bench")
    key = bench_api_key(organisation, scopes=["ingest"])
    records = next_records(args.items * (2 * args.repeat + 1))
    batches = [json.dumps(records[i * args.items : (i + 1) * args.items]).encode() for i in range(2 * args.repeat + 1)]

    (ROOT / "var").mkdir(exist_ok=True)
    port, processes = start_processes(1)
    with_worker = bool(os.environ.get("REDIS_URL"))
    started_at = timezone.now()
    timings: dict[str, list[float]] = {"gzip": [], "plain": []}
    sizes: dict[str, int] = {}
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health/live")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        plain_headers = {"Content-Type": "application/json", "X-Webhook-Key": key}
        modes = {"gzip": {**plain_headers, "Accept-Encoding": "gzip"}, "plain": plain_headers}
        post(connection, batches[0], plain_headers)  # warm the process: the model loaded, the code run once
        for i, body in enumerate(batches[1:]):
            mode = "gzip" if i % 2 == 0 else "plain"
            if with_worker:
                wait_for_worker(started_at)
            elapsed, answer, encoding = post(connection, body, modes[mode])
            assert encoding == ("gzip" if mode == "gzip" else ""), (mode, encoding)
            decoded = json.loads(gzip.decompress(answer) if encoding else answer)
            assert decoded["accepted"] == args.items, decoded["accepted"]
            timings[mode].append(elapsed)
            sizes[mode] = len(answer)
            if mode == "plain":
                plain_answer = answer
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)

    compress_ms = []
    for _ in range(20):
        started = time.perf_counter()
        compress_string(plain_answer, max_random_bytes=JsonGZipMiddleware.max_random_bytes)
        compress_ms.append((time.perf_counter() - started) * 1000)

    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    gz_s, plain_s = statistics.median(timings["gzip"]), statistics.median(timings["plain"])
    print(f"{args.items:,}-item ingest answers on {database}, {args.repeat} of each, alternating:")
    ratio = sizes["plain"] / sizes["gzip"]
    print(f"  bytes on the wire: gzip {sizes['gzip']:,}, plain {sizes['plain']:,}: {ratio:.1f}x fewer")
    print(f"  to the last byte, median: gzip {gz_s:.3f} s, plain {plain_s:.3f} s (gzip / plain: {gz_s / plain_s:.3f})")
    print(f"  compressing one answer in-process: median {statistics.median(compress_ms):.1f} ms")
    print(
        f"  on a 100 Mbit/s link (computed): gzip {sizes['gzip'] / LINK_BYTES_PER_S * 1000:.1f} ms, "
        f"plain {sizes['plain'] / LINK_BYTES_PER_S * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
