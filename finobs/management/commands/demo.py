"""Set up a working demo: two organisations, each with users for every role, teams, a champion, an API key and
a month of history that ends now (traffic, cases at every stage, models, drift, callbacks, a pull source, an
upload); and a platform staff user who manages both and sees neither's data."""

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from finobs.demo.runner import DEFAULT_ACCOUNTS, DEFAULT_DAYS, DEFAULT_SEED, run_demo


class Command(BaseCommand):
    help = (
        "Create two demo organisations with a month of history ending now (first run only; re-runs change "
        "nothing but the passwords and the API key, which are new and printed every run). --reset starts over."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--accounts", type=int, default=DEFAULT_ACCOUNTS, help="accounts in the first organisation's traffic"
        )
        parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="days of history")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument(
            "--reset", action="store_true", help="drop the whole database and build the demo from scratch"
        )

    def handle(self, *args, accounts, days, seed, reset, **options):
        if reset:
            self._reset()
        run_demo(accounts=accounts, days=days, seed=seed, write=self.stdout.write)

    def _reset(self) -> None:
        """The audit trail is append-only (truncation included, on PostgreSQL): starting over means a new database."""
        if not settings.DEBUG:
            raise CommandError("--reset drops the whole database: it runs with DEBUG on only.")
        if connection.vendor == "sqlite":
            name = str(settings.DATABASES["default"]["NAME"])
            connection.close()
            for suffix in ("", "-wal", "-shm"):
                Path(name + suffix).unlink(missing_ok=True)
        else:
            with connection.cursor() as cursor:
                cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        self.stdout.write("Dropped the database; migrating...")
        call_command("migrate", interactive=False, verbosity=0)
