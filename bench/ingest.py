"""Ingest throughput: 10,000-item POSTs and single-item POSTs to a running ASGI server vs a naive per-item path.

Needs PostgreSQL (DATABASE_URL); with REDIS_URL too it runs as in production, a Celery worker
publishing the outbox (the README's figures). Seed the history once, then measure:

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/finobs_bench_d REDIS_URL=redis://127.0.0.1:6379/14
    python bench/ingest.py --seed          # once: ~1M transactions of 50,000 accounts, through ingest()
    python bench/ingest.py --stages        # batch + single-item figures, with the per-stage breakdown

It migrates the database, trains a champion if there is none, starts daphne (`--web` processes) on a free port and
POSTs `--repeat` fresh 10,000-item batches of the seeded accounts (the next hours of their traffic,
so history, velocity windows and open cases are real), printing median and best end to end
(validated, scored, stored, cases opened, audit and outbox written). Then `--single` single-item
POSTs from 8 threads (p50/p95), and the floor of this server and client: GET /health/live (no
database) from the same 8 threads. `--repeat 0` measures single items only; `--web N` starts N daphne
processes on one listening socket. In the same run it measures the naive path: per item, an ORM save of
the transaction, a one-row model call (history included) and an ORM save of the decision, on a
smaller sample (`--baseline-items`), once sequentially (throughput) and once from 8 threads (latency).
`--stages` prints the server's own per-stage timings (the Server-Timing header of each batch).
Each single-item thread holds one keep-alive `http.client` connection (`--client httpx`: an httpx client).
The bench acts in the default organisation (`BENCH_ORGANISATION=<slug>` names another): the seed, the
API key and the in-process figures are that organisation's.
Each run adds its transactions to the seeded accounts' recent history, so later runs read more of it:
`--on-copy` measures on a copy of the database made for the run and dropped after it (~15 s for
2.5 GB), so that runs of different builds start from the same rows.
"""

import argparse
import contextlib
import contextvars
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finobs.settings")

SEED = 7
SEED_ACCOUNTS = 50_000
SEED_DAYS = 12  # ~1.6 transactions per account and day: ~1,000,000 rows
SEED_SOURCE = "bench-seed"
CONCURRENCY = 8


def bench_organisation():
    """The organisation the bench acts in (`BENCH_ORGANISATION`, a slug; the default organisation unless told),
    made the current one of this thread: the ORM's default managers read its rows and new rows are its own.
    `concurrently()` hands it to its threads."""
    from organisations.context import activate
    from organisations.models import Organisation

    organisation = Organisation.objects.get(slug=os.environ.get("BENCH_ORGANISATION", "default"))
    activate(organisation)
    return organisation


def bench_api_key(organisation, *, scopes: list[str]) -> str:
    """A fresh API key of `organisation` on a source of its own, allowed far more requests than the default
    rate limit (600/min): the benches measure the product, not the limit. Returns the raw key."""
    from apikeys.services import api_key_create

    _, raw = api_key_create(
        organisation=organisation,
        name="bench",
        source=f"bench-{uuid.uuid4().hex[:6]}",
        scopes=scopes,
        rate_limit="100000/min",
    )
    return raw


def wait_until_up(url: str, timeout_s: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):  # not listening yet
            if httpx.get(url, timeout=1).status_code < 500:
                return
        time.sleep(0.3)
    raise SystemExit(f"server at {url} did not come up")


def seed_history() -> None:
    """~1M transactions of 50,000 accounts over 12 days, through ingest() (profiles, cases, audit as live)."""
    from ingestion.services import ingest
    from organisations.context import current_organisation
    from scoring.generator import DEFAULT_START, generate
    from scoring.models import Transaction

    organisation = current_organisation()
    stored = Transaction.objects.filter(source=SEED_SOURCE).count()
    if stored:
        print(f"seed: {stored:,} seeded transactions already there")
        mark_seed_events_published()
        return
    started = time.perf_counter()
    total = 0
    for day in range(SEED_DAYS):
        records = generate(
            n_accounts=SEED_ACCOUNTS, days=1, seed=SEED, start=DEFAULT_START + timedelta(days=day)
        ).records
        for start in range(0, len(records), 10_000):
            chunk = [{**r, "external_id": f"d{day}-{r['external_id']}"} for r in records[start : start + 10_000]]
            result = ingest(chunk, organisation=organisation, source=SEED_SOURCE, actor="bench-seed")
            total += result.accepted
        print(f"seed: day {day + 1}/{SEED_DAYS}, {total:,} transactions, {time.perf_counter() - started:.0f} s")
    mark_seed_events_published()


def mark_seed_events_published() -> None:
    """The seed is history, not traffic: its outbox events are marked published (no worker ran meanwhile).

    Left unpublished, every measured run's worker first relayed the seed's ~1M events, and queued the
    explanations of its flagged decisions, on the cores the measurement shares.
    """
    from django.utils import timezone

    from delivery.models import OutboxEvent

    marked = OutboxEvent.objects.filter(published_at__isnull=True).update(published_at=timezone.now())
    print(f"seed: {marked:,} outbox events of the seed marked published")


def next_records(n: int, *, hours_after: float = 1.0, n_accounts: int = SEED_ACCOUNTS) -> list[dict]:
    """The seeded accounts' next `n` transactions, starting after the latest stored one (time moves on)."""
    from django.db.models import Max

    from scoring.generator import DEFAULT_START, generate
    from scoring.models import Transaction

    latest = Transaction.objects.aggregate(last=Max("occurred_at"))["last"] or DEFAULT_START
    start = latest.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1 + hours_after)
    records = generate(n_accounts=n_accounts, days=1, seed=SEED, start=start).records
    while len(records) < n:
        start += timedelta(days=1)
        records += generate(n_accounts=n_accounts, days=1, seed=SEED, start=start).records
    run = uuid.uuid4().hex[:8]
    return [{**r, "external_id": f"{run}-{i}"} for i, r in enumerate(records[:n])]


def naive_item(record: dict) -> None:
    """The naive path for one item: ORM save, one-row model call (with its history), ORM save."""
    from django.db import transaction
    from django.utils import timezone

    from scoring.generator import records_to_transactions
    from scoring.models import Decision
    from scoring.services import batch_score

    (txn,) = records_to_transactions([record], source="bench-naive")
    with transaction.atomic():
        txn.received_at = timezone.now()
        scored = batch_score(transactions=[txn])
        txn.save()
        Decision.objects.create(
            transaction=txn,
            model_version=scored.model_version,
            score=float(scored.scores[0]),
            risk_level=scored.risk_levels[0],
            flagged=bool(scored.flagged[0]),
            latency_ms=scored.latency_ms,
            created_at=timezone.now(),
        )


def naive_sequential(records: list[dict]) -> float:
    started = time.perf_counter()
    for record in records:
        naive_item(record)
    return time.perf_counter() - started


def concurrently(work, items: list, threads: int) -> list[float]:
    """Run `work(item)` from `threads` threads, in the caller's organisation; the latency of each call in ms."""
    from django.db import connection

    latencies: list[float] = []
    lock = threading.Lock()
    queue = list(items)

    def run():
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    item = queue.pop()
                started = time.perf_counter()
                work(item)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
        finally:
            connection.close()

    # A thread starts with an empty context: each runs in a copy of the caller's (its organisation).
    pool = [threading.Thread(target=contextvars.copy_context().run, args=(run,)) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return latencies


class LeanClient:
    """One keep-alive HTTP/1.1 connection to the server under test, from the standard library.

    The bench's client shares the machine's 2 cores with daphne, the worker and PostgreSQL: httpx
    spent ~1.6 ms of CPU per single-item request here (`--client httpx` measures with it),
    http.client with the body encoded once ~0.4 ms.
    """

    def __init__(self, port: int, headers: dict[str, str]):
        import http.client

        self._connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self._headers = headers

    def post_json(self, path: str, data) -> tuple[int, dict, str]:
        """POST `data` as JSON: the status, the decoded body and the Server-Timing header."""
        import json

        body = json.dumps(data).encode()
        self._connection.request("POST", path, body, {**self._headers, "Content-Type": "application/json"})
        response = self._connection.getresponse()
        return response.status, json.loads(response.read()), response.getheader("Server-Timing", "")

    def get_ok(self, path: str) -> None:
        self._connection.request("GET", path, headers=self._headers)
        response = self._connection.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"GET {path}: {response.status}")


def httpx_client(base: str, headers: dict[str, str]):
    """An httpx client (`--client httpx`), with LeanClient's methods."""
    import httpx

    client = httpx.Client(base_url=base, timeout=60, headers=headers)

    class Adapter:
        def post_json(self, path: str, data) -> tuple[int, dict, str]:
            r = client.post(path, json=data)
            return r.status_code, r.json(), r.headers.get("server-timing", "")

        def get_ok(self, path: str) -> None:
            client.get(path).raise_for_status()

    return Adapter()


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """CPU time (user + system, all threads) each of `pids` has used so far (those /proc still has)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    used = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            used[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return used


def with_cpu_per_call(
    sides: dict[str, Callable[[], list[int]]], run: Callable[[], list[float]]
) -> tuple[list[float], dict[str, float]]:
    """`run()` (a concurrently() call: one latency per call) and each side's CPU ms per call it made.

    `sides` maps a name to a function listing its processes: a process that started during the run
    counts whole, one that ended during it is left out (a PostgreSQL backend, a worker's child).
    """
    before = {side: cpu_seconds(pids()) for side, pids in sides.items()}
    latencies = run()
    per_call = {}
    for side, pids in sides.items():
        after = cpu_seconds(pids())
        used = sum(seconds - before[side].get(pid, 0.0) for pid, seconds in after.items())
        per_call[side] = used * 1000 / len(latencies)
    return latencies, per_call


def with_children(pids: list[int]) -> list[int]:
    """`pids` and their child processes (a Celery worker's pool)."""
    children = []
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").glob("*"):
            with contextlib.suppress(OSError):
                children += [int(c) for c in (task / "children").read_text().split()]
    return pids + children


def postgres_pids() -> list[int]:
    """The local PostgreSQL server's processes (the bench's database runs on this machine)."""
    pids = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if (entry / "cmdline").read_bytes().startswith(b"postgres"):
                pids.append(int(entry.name))
    return pids


def cpu_sides(per_call: dict[str, float]) -> str:
    return ", ".join(f"{side} {ms:.2f} ms" for side, ms in per_call.items() if ms or side == "web")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


# Server-Timing's stages in pipeline order (the header lists them as they finished: a stage inside another
# before it); stages not named here follow, as reported.
STAGE_ORDER = (
    "validate",
    "duplicates",
    "reads",
    "history",
    "score",
    "insert",
    "profiles",
    "receivers",
    "outbox",
    "audit",
    "transaction",
    "total",
    "queued",
)


def stage_names(rows: list[dict[str, float]]) -> list[str]:
    seen = list(dict.fromkeys(name for row in rows for name in row))
    return [n for n in STAGE_ORDER if n in seen] + [n for n in seen if n not in STAGE_ORDER]


def parse_server_timing(header: str) -> dict[str, float]:
    stages = {}
    for part in header.split(","):
        name, _, dur = part.strip().partition(";dur=")
        if dur:
            stages[name] = float(dur)
    return stages


def server_env() -> dict[str, str]:
    """The environment of the bench's daphne and worker: as in production (DEBUG off: no query log), on plain
    HTTP to localhost, with this process' field encryption keys (the secrets it stores, they read)."""
    from django.conf import settings

    return {
        "SECRET_KEY": "bench-" + "x" * 50,
        "PII_HASH_SALT": "bench-salt",
        "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        **os.environ,
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
    }


def start_processes(web: int) -> tuple[int, list[subprocess.Popen]]:
    """`web` daphne processes sharing one listening socket (as one per core would in production)."""
    env = server_env()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    os.set_inheritable(listener.fileno(), True)
    log = open(ROOT / "var" / "bench-daphne.log", "w")  # noqa: SIM115 (closed with the processes)
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "daphne", "--fd", str(listener.fileno()), "finobs.asgi:application"],
            cwd=ROOT,
            env=env,
            pass_fds=[listener.fileno()],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        for _ in range(web)
    ]
    port = listener.getsockname()[1]
    listener.close()  # the children hold it
    # With Redis, as in production, a Celery worker publishes the outbox after the response.
    if os.environ.get("REDIS_URL"):
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "finobs", "worker", "--concurrency=1", "--loglevel=warning"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return port, processes


def vacuum_hot_tables() -> None:
    """What autovacuum would have done (it is off on the CI server): the profile tables take an update per batch."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("scoring_accountprofile", "scoring_accountvaluecount", "delivery_outboxevent"):
            cursor.execute(f"VACUUM ANALYZE {table}")


def wait_for_worker(since, timeout_s: float = 180) -> None:
    """Let the worker publish the previous batch's events and explain its flagged decisions first, so
    each measurement starts on an idle system (the worker shares the 2 cores with daphne and PostgreSQL)."""
    from django.db.models import Q

    from delivery.models import OutboxEvent
    from scoring.models import Decision

    unexplained = Decision.objects.filter(Q(explanation__isnull=True) | Q(explanation=None), flagged=True)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and (
        OutboxEvent.objects.filter(published_at__isnull=True).exists()
        or unexplained.filter(created_at__gte=since).exists()
    ):
        time.sleep(0.5)


def profile_in_process(n: int) -> None:
    """One batch through ingest() under cProfile: the stages, then the functions that cost most."""
    import cProfile
    import pstats

    from ingestion.services import ingest
    from organisations.context import current_organisation

    organisation = current_organisation()
    ingest(next_records(200), organisation=organisation, source="bench-profile", actor="bench")  # warm: champion loaded
    records = next_records(n)
    profiler = cProfile.Profile()
    profiler.enable()
    result = ingest(records, organisation=organisation, source="bench-profile", actor="bench")
    profiler.disable()
    print("stages, ms:", {k: round(v, 1) for k, v in result.timings_ms.items()})
    pstats.Stats(profiler).sort_stats(os.environ.get("PROFILE_SORT", "cumulative")).print_stats(45)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", action="store_true", help="seed ~1M transactions of 50,000 accounts, then stop")
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5, help="10,000-item batches to time")
    parser.add_argument("--single", type=int, default=1500, help="single-item POSTs from 8 threads (at least 2)")
    parser.add_argument("--baseline-items", type=int, default=300, help="items for the naive per-item baseline")
    parser.add_argument("--web", type=int, default=1, help="daphne processes sharing the listening socket")
    parser.add_argument(
        "--client",
        choices=["lean", "httpx"],
        default="lean",
        help="HTTP client of the single-item and no-op threads: lean (http.client) or httpx",
    )
    parser.add_argument("--stages", action="store_true", help="print the server's per-stage timings per batch")
    parser.add_argument("--profile", action="store_true", help="cProfile one batch through ingest() in-process, stop")
    parser.add_argument(
        "--on-copy",
        action="store_true",
        help="measure on a fresh copy of the database (CREATE DATABASE ... TEMPLATE), dropped afterwards, so that "
        "every run starts from the same rows (each run adds ~55,000 to the accounts' recent history)",
    )
    args = parser.parse_args()
    if args.single < 2:
        parser.error("--single must be at least 2 (half of up to 80 warm the threads, the rest are timed)")
    if args.on_copy and args.seed:
        parser.error("--seed writes the database itself, not a copy")

    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database (see the docstring).")
    if not args.on_copy:
        run(args)
        return
    with database_copy(os.environ["DATABASE_URL"]) as url:
        os.environ["DATABASE_URL"] = url  # read by settings at django.setup(), and by daphne and the worker
        run(args)


@contextlib.contextmanager
def database_copy(url: str):
    """A copy of the database at `url` (no one else may be connected to it meanwhile), dropped on exit."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    source = parts.path.lstrip("/")
    copy = f"{source}_run_{os.getpid()}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    started = time.perf_counter()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                sql.Identifier(copy), sql.Identifier(source)
            )
        )
    print(f"database: measuring on {copy}, a copy of {source} ({time.perf_counter() - started:.0f} s to copy)")
    try:
        yield urlunsplit(parts._replace(path="/" + copy))
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(copy)))


def run(args) -> None:
    import django

    django.setup()
    import httpx
    from django.core.management import call_command

    from scoring.models import ModelVersion, Transaction
    from scoring.services import model_train

    call_command("migrate", verbosity=0)
    organisation = bench_organisation()
    if not ModelVersion.objects.filter(status="champion").exists():
        model_train(actor="bench")
    if args.seed:
        seed_history()
        return
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    print(f"database: {Transaction.objects.count():,} transactions stored")
    vacuum_hot_tables()
    if args.profile:
        profile_in_process(args.items)
        return
    key = bench_api_key(organisation, scopes=["ingest"])

    (ROOT / "var").mkdir(exist_ok=True)
    port, processes = start_processes(args.web)
    with_worker = bool(os.environ.get("REDIS_URL"))
    batch_s, stage_rows, flagged = [], [], []
    from django.utils import timezone

    bench_started = timezone.now()
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/health/live")
        headers = {"X-Webhook-Key": key}
        with httpx.Client(base_url=base, timeout=120, headers=headers) as client:
            client.post("/api/v1/transactions/ingest", json=next_records(200))  # warm the process
            for _ in range(args.repeat):
                if with_worker:
                    wait_for_worker(bench_started)
                records = next_records(args.items)
                body_bytes = httpx.Request("POST", "/", json=records).read()
                started = time.perf_counter()
                response = client.post(
                    "/api/v1/transactions/ingest", content=body_bytes, headers={"Content-Type": "application/json"}
                )
                batch_s.append(time.perf_counter() - started)
                body = response.json()
                if response.status_code != 200 or body["accepted"] != args.items:
                    raise SystemExit(f"batch failed: {response.status_code} {str(body)[:300]}")
                flagged.append(body["flagged"])
                stage_rows.append(parse_server_timing(response.headers.get("server-timing", "")))

            singles = next_records(args.single)
            if with_worker:
                wait_for_worker(bench_started)

            # One keep-alive connection per thread, as an integrator's workers would hold.
            local = threading.local()
            single_stages: list[dict] = []
            client_for_thread = (
                (lambda: LeanClient(port, headers)) if args.client == "lean" else (lambda: httpx_client(base, headers))
            )

            def post_one_keepalive(record):
                if not hasattr(local, "client"):
                    local.client = client_for_thread()
                status, body, server_timing = local.client.post_json("/api/v1/transactions/ingest", [record])
                if status != 200 or body["accepted"] != 1:
                    raise SystemExit(f"single failed: {status} {str(body)[:300]}")
                single_stages.append(parse_server_timing(server_timing))

            warm = min(40, args.single // 2)
            concurrently(post_one_keepalive, singles[:warm], CONCURRENCY)  # warm the threads
            # CPU per request of each side (stabler than p95 on a noisy machine: compares builds).
            sides = {
                "web": lambda: [p.pid for p in processes[: args.web]],
                "worker": lambda: with_children([p.pid for p in processes[args.web :]]),
                "PostgreSQL": postgres_pids,
                "bench client": lambda: [os.getpid()],
            }
            single_ms, single_cpu_ms = with_cpu_per_call(
                sides, lambda: concurrently(post_one_keepalive, singles[warm:], CONCURRENCY)
            )

            # The floor of this server and client: a no-op endpoint (/health/live) the same way.
            def get_live(_):
                if not hasattr(local, "client"):
                    local.client = client_for_thread()
                local.client.get_ok("/health/live")

            live_ms, live_cpu_ms = with_cpu_per_call(
                sides, lambda: concurrently(get_live, range(len(single_ms)), CONCURRENCY)
            )
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)

    naive_records = next_records(3 * args.baseline_items, hours_after=30)
    naive_item(naive_records[-1])  # warm
    naive_s = naive_sequential(naive_records[: args.baseline_items])
    naive_ms = concurrently(naive_item, naive_records[args.baseline_items : 2 * args.baseline_items], CONCURRENCY)
    # The same comparison without HTTP: ingest() of one item from 8 threads of this process.
    from ingestion.services import ingest

    in_process_ms = concurrently(
        lambda record: ingest([record], organisation=organisation, source="bench-in-process", actor="bench"),
        naive_records[2 * args.baseline_items : -1],
        CONCURRENCY,
    )

    naive_rate = args.baseline_items / naive_s
    print(
        f"naive per-item path, {args.baseline_items} items in-process, sequential: {naive_s:.3f} s = "
        f"{naive_rate:,.0f} tx/s (scaled to {args.items:,}: {args.items / naive_rate:.1f} s)"
    )
    if batch_s:  # --repeat 0 measures the single-item path only
        median_s, best_s = statistics.median(batch_s), min(batch_s)
        print(
            f"batch POST, {args.items:,} items over HTTP, {args.repeat} batches: median {median_s:.3f} s = "
            f"{args.items / median_s:,.0f} tx/s, best {best_s:.3f} s = {args.items / best_s:,.0f} tx/s "
            f"(flagged per batch: {flagged})"
        )
        print(f"ratio batch / naive (median): {args.items / median_s / naive_rate:.1f}x")
        print("batch times, s: " + " ".join(f"{s:.3f}" for s in batch_s))
    p50, p95 = percentile(single_ms, 50), percentile(single_ms, 95)
    live_p95 = percentile(live_ms, 95)
    print(
        f"single-item POST over HTTP, {len(single_ms)} requests from {CONCURRENCY} threads ({args.client} client): "
        f"p50 {p50:.1f} ms, p95 {p95:.1f} ms, mean {statistics.fmean(single_ms):.1f} ms"
    )
    print(f"  CPU per single-item request: {cpu_sides(single_cpu_ms)}")
    print(
        f"no-op endpoint (/health/live) over HTTP, {len(live_ms)} requests from {CONCURRENCY} threads: "
        f"p50 {percentile(live_ms, 50):.1f} ms, p95 {live_p95:.1f} ms "
        f"(the floor of server + client here; single-item ingest p95 / no-op p95: {p95 / live_p95:.1f}x)"
    )
    print(f"  CPU per no-op request: {cpu_sides(live_cpu_ms)}")
    n50, n95 = percentile(naive_ms, 50), percentile(naive_ms, 95)
    print(
        f"naive single item in-process (no HTTP), {len(naive_ms)} from {CONCURRENCY} threads: "
        f"p50 {n50:.1f} ms, p95 {n95:.1f} ms; ratio at p95: {n95 / p95:.1f}x"
    )
    i50, i95 = percentile(in_process_ms, 50), percentile(in_process_ms, 95)
    print(
        f"single-item ingest() in-process (no HTTP), {len(in_process_ms)} from {CONCURRENCY} threads: "
        f"p50 {i50:.1f} ms, p95 {i95:.1f} ms; naive / ingest() at p95: {n95 / i95:.1f}x"
    )
    if args.stages and single_stages:
        names = stage_names(single_stages)
        print("server stages per single-item request, median ms (Server-Timing; a run may hold several requests):")
        print("  " + " ".join(f"{n:>10}" for n in names))
        print("  " + " ".join(f"{statistics.median(row.get(n, 0) for row in single_stages):>10.1f}" for n in names))
    if args.stages and stage_rows:
        names = stage_names(stage_rows)
        print("server stages per batch, ms (Server-Timing):")
        print("  " + " ".join(f"{n:>10}" for n in names))
        for row in stage_rows:
            print("  " + " ".join(f"{row.get(n, 0):>10.1f}" for n in names))


if __name__ == "__main__":
    main()
