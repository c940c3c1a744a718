"""A 20 MB attachment through daphne: upload time, hashed while it streams, and the web process's memory rise.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/finobs_bench_ws python bench/attachments.py --uploads 5

Migrates the database, makes a case of a bench team (the default organisation, or `BENCH_ORGANISATION`)
and signs in an analyst of that team. For each of `--uploads` PDF files of `--mb` MB (random bytes behind a
PDF header, so none is a duplicate of another) it starts a fresh daphne process (attachments in a temporary
directory), warms it with three small uploads, then POSTs the file through the case page's upload form and
reads the process's resident memory from /proc before and its peak after: the rise says whether the file
was held in memory (the upload handler writes each chunk to a temporary file as it hashes it). A fresh
process each time, because memory a process once grew to is reused without showing again. The same bytes
are then POSTed, on another fresh process, to /health/live, which ignores its body: that rise is what
daphne and Django's request reading hold on their own. Last, one file is downloaded (its hash re-verified
on the way out). The time baseline, in the same run, is this process hashing the same bytes and writing
them to a file: what the upload costs beyond the hash and the disk.
"""

import argparse
import hashlib
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import timedelta

from ingest import ROOT, bench_organisation, server_env, wait_until_up
from upload import signed_in_analyst

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finobs.settings")


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (the peak resident since the process started), in KiB."""
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in {"VmRSS", "VmHWM"}:
                fields[name] = int(value.split()[0])
    return fields


def reset_peak(pid: int) -> None:
    """Linux resets VmHWM to the current RSS on writing 5 to clear_refs (own processes only)."""
    with open(f"/proc/{pid}/clear_refs", "w") as refs:
        refs.write("5")


def bench_case(organisation):
    """An open case of the bench team, visible to the bench analyst."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from cases.models import Case, Team

    team, _ = Team.objects.get_or_create(slug="bench-attachments", defaults={"name": "Bench attachments"})
    team.members.add(get_user_model().objects.get(username="bench-upload"))
    now = timezone.now()
    case = Case.objects.filter(team=team, account_id="bench-attachments").exclude(status="closed").first()
    return case or Case.objects.create(
        reference=f"BENCH-ATT-{secrets.token_hex(3)}",
        title="Attachments bench",
        account_id="bench-attachments",
        severity="medium",
        peak_severity="medium",
        team=team,
        sla_due_at=now + timedelta(days=3),
        opened_at=now,
    )


@contextmanager
def serving(env: dict):
    """One daphne process on a free port: yields (base URL, pid)."""
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
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/health/live")
        yield base, server.pid
    finally:
        server.terminate()
        server.wait(timeout=30)


def upload_ok(response, case) -> None:
    location = response.headers.get("location", "")
    if response.status_code != 302 or not location.startswith(f"/cases/{case.reference}/"):
        raise SystemExit(f"upload failed: {response.status_code} {location} {response.text[:300]}")


def pdf_bytes(size: int) -> bytes:
    return b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + os.urandom(size - 16) + b"\n%%EOF\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uploads", type=int, default=5)
    parser.add_argument("--mb", type=float, default=20.0, help="size of each file")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database (e.g. .../finobs_bench_ws).")
    storage_dir = tempfile.mkdtemp(prefix="finobs-bench-attachments-")
    env = {**server_env(), "ATTACHMENT_ROOT": storage_dir, "ATTACHMENT_MAX_BYTES": str(int((args.mb + 1) * 2**20))}
    from django.conf import settings

    # server_env() has read this process' settings: the server signs sessions with the same key as this
    # process, which signs the analyst's session in.
    env["SECRET_KEY"] = settings.SECRET_KEY
    import django

    django.setup()
    import httpx
    from django.core.management import call_command

    from organisations.context import organisation_context

    call_command("migrate", verbosity=0)
    organisation = bench_organisation()
    session = signed_in_analyst(organisation)
    with organisation_context(organisation):
        case = bench_case(organisation)
    csrf = secrets.token_hex(16)
    size = int(args.mb * 1024 * 1024)
    files = [pdf_bytes(size) for _ in range(args.uploads + 1)]

    cookies = {"sessionid": session, "csrftoken": csrf}
    url = f"/cases/{case.reference}/attachments/upload"
    small = pdf_bytes(4096)
    results = []  # (POST s, upload's rise KiB, bare POST's rise KiB)
    for n, data in enumerate(files[:-1]):
        # A fresh server for each large request: memory a process once grew to is reused, not shown again.
        with (
            serving(env) as (base, pid),
            httpx.Client(base_url=base, timeout=300, cookies=cookies, headers={"X-CSRFToken": csrf}) as client,
        ):
            for _ in range(3):  # warm the view, libmagic, the connection
                upload_ok(client.post(url, files={"file": ("warm.pdf", small, "application/pdf")}), case)
            time.sleep(0.3)
            before = memory_kib(pid)["VmRSS"]
            reset_peak(pid)
            started = time.perf_counter()
            upload_ok(client.post(url, files={"file": (f"statement-{n}.pdf", data, "application/pdf")}), case)
            post_s = time.perf_counter() - started
            rise = memory_kib(pid)["VmHWM"] - before
        with serving(env) as (base, pid), httpx.Client(base_url=base, timeout=300) as client:
            for _ in range(3):
                client.post("/health/live", content=small, headers={"Content-Type": "application/octet-stream"})
            time.sleep(0.3)
            before = memory_kib(pid)["VmRSS"]
            reset_peak(pid)
            client.post("/health/live", content=data, headers={"Content-Type": "application/octet-stream"})
            bare = memory_kib(pid)["VmHWM"] - before
        results.append((post_s, rise, bare))
    with (
        serving(env) as (base, pid),
        httpx.Client(base_url=base, timeout=300, cookies=cookies, headers={"X-CSRFToken": csrf}) as client,
    ):
        listing = client.get(f"/api/v1/cases/{case.reference}/attachments/").json()
        if not isinstance(listing, list):
            raise SystemExit(f"listing failed: {listing}")
        newest = listing[-1]
        assert newest["sha256"] == hashlib.sha256(files[-2]).hexdigest(), "the stored hash is not the file's"
        started = time.perf_counter()
        download = client.get(newest["download_url"])
        download_s = time.perf_counter() - started
        assert download.status_code == 200 and hashlib.sha256(download.content).hexdigest() == newest["sha256"]

    baseline = []
    with tempfile.TemporaryDirectory() as scratch:
        for n, data in enumerate(files[:-1]):
            started = time.perf_counter()
            sha = hashlib.sha256()
            with open(os.path.join(scratch, str(n)), "wb") as out:
                for start in range(0, len(data), 64 * 1024):
                    chunk = data[start : start + 64 * 1024]
                    sha.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            baseline.append(time.perf_counter() - started)

    mb = size / 2**20
    for post_s, rise, bare in results:
        print(
            f"upload {mb:.0f} MiB: POST {post_s * 1000:.0f} ms; web process memory rise {rise / 1024:.1f} MiB; "
            f"the same bytes POSTed to /health/live: rise {bare / 1024:.1f} MiB"
        )
    post_ms = statistics.median(r[0] for r in results) * 1000
    rise_mib = statistics.median(r[1] / 1024 for r in results)
    bare_mib = statistics.median(r[2] / 1024 for r in results)
    base_ms = statistics.median(baseline) * 1000
    print(f"median of {len(results)} uploads: POST {post_ms:.0f} ms ({mb / post_ms * 1000:.0f} MiB/s), "
          f"memory rise {rise_mib:.1f} MiB = {rise_mib / mb:.2f} of the file's size; the same bytes posted to "
          f"/health/live (the server's own request buffering): {bare_mib:.1f} MiB; the upload's own share: "
          f"{rise_mib - bare_mib:.1f} MiB")  # fmt: skip
    print(f"download with the hash re-verified: {download_s * 1000:.0f} ms")
    print(f"baseline, this process hashing and writing the same bytes: median {base_ms:.0f} ms; "
          f"upload / baseline: {post_ms / base_ms:.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
