"""Serve finobs with daphne (HTTP and WebSockets), refusing a non-local address while DEBUG is on.

With --demo (what bin/run does) the same process first migrates (when migrations are pending), collects the
static files (when they changed) and sets up the demo, then serves: one Django start-up instead of one per
step, so a second start takes a few seconds. Embedded (no broker), it also runs the stale-job sweep."""

import hashlib
import ipaddress
import os
import sys
import threading
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import get_finders
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

LOCAL_NAMES = {"localhost"}
STATIC_STAMP = ".collected"  # in STATIC_ROOT: a digest of the files collectstatic last collected


def is_local(host: str) -> bool:
    """Whether binding `host` keeps the server to this machine (a loopback address or name)."""
    if host in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def migrations_pending() -> bool:
    executor = MigrationExecutor(connection)
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def static_files_digest() -> str:
    """What collectstatic would collect: every found file's path, size and modification time."""
    found = []
    for finder in get_finders():
        for path, storage in finder.list(["CVS", ".*", "*~"]):
            stat = os.stat(storage.path(path))
            found.append(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(sorted(found)).encode()).hexdigest()


def collect_static_if_changed() -> bool:
    stamp = Path(settings.STATIC_ROOT) / STATIC_STAMP
    digest = static_files_digest()
    if stamp.exists() and stamp.read_text() == digest:
        return False
    call_command("collectstatic", interactive=False, verbosity=0)
    stamp.write_text(digest)
    return True


def sweep_lost_jobs_in_process() -> threading.Event:
    """Embedded (no broker, no beat), long jobs run on this process's background thread: a job lost when a
    previous process stopped is found by the stale-job sweep, which runs here every JOB_SWEEP_INTERVAL_S
    until the returned event is set."""
    from finobs.jobs import stale_jobs_sweep
    from kernel.background import every

    return every(settings.JOB_SWEEP_INTERVAL_S, stale_jobs_sweep, name="stale-jobs-sweep")


class Command(BaseCommand):
    help = "Serve finobs (daphne). With DEBUG on it binds only to this machine: DEBUG pages show settings and URLs."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"), help="address to bind")
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")), help="port to bind")
        parser.add_argument(
            "--demo",
            action="store_true",
            help="first migrate, collect static files and set up the demo (each only when needed), then serve",
        )

    def handle(self, *args, host: str, port: int, demo: bool = False, **options):
        if settings.DEBUG and not is_local(host):
            raise CommandError(
                f"Refusing to serve on {host} with DEBUG on: its error pages would show this server's settings "
                "and URLs to anyone who can reach it. For any address other than this machine's own, run with "
                "production settings: DEBUG=0 SECRET_KEY=… ALLOWED_HOSTS=… PII_HASH_SALT=… (see docs/operations.md)."
            )
        daphne = ["-b", host, "-p", str(port), "finobs.asgi:application"]
        if not demo:
            os.execv(sys.executable, [sys.executable, "-m", "daphne", *daphne])  # noqa: S606 (signals reach daphne)
        self._prepare(base_url=f"http://{host if ':' not in host else f'[{host}]'}:{port}")
        if settings.CELERY_TASK_ALWAYS_EAGER:
            sweep_lost_jobs_in_process()
        from daphne.cli import CommandLineInterface

        connection.close()  # the server's requests open their own
        CommandLineInterface().run(daphne)

    def _prepare(self, *, base_url: str) -> None:
        from finobs.demo.banner import banner
        from finobs.demo.runner import run_demo

        if migrations_pending():
            self.stdout.write("Migrating the database...")
            call_command("migrate", interactive=False, verbosity=0)
        if collect_static_if_changed():
            self.stdout.write("Collected the static files.")
        demos = run_demo(write=self.stdout.write)
        self.stdout.write(banner(demos, base_url=base_url))
