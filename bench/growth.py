"""How much each table grows per transaction ingested: the figures of docs/operations.md (Retention).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/finobs_growth python bench/growth.py [--transactions 100000]

Drops and recreates that database, migrates it, trains a champion, registers one callback endpoint for every
event (so deliveries are counted), then ingests generated transactions through `ingest()` a thousand at a
time, as a CSV upload does, with tasks in-process (the outbox relay, the explanations of flagged decisions,
the fan-out to the endpoint). Prints rows and bytes (`pg_total_relation_size`: heap, indexes, TOAST) added
per table, and the same scaled to one million transactions.
"""

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def table_sizes() -> dict[str, tuple[int, int]]:
    from django.db import connection

    sizes = {}
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute(
            "SELECT c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"
        )
        for name, _estimate, size in cursor.fetchall():
            # exact, not the planner's estimate; the name comes from pg_class
            cursor.execute(f'SELECT count(*) FROM "{name}"')  # noqa: S608
            sizes[name] = (cursor.fetchone()[0], size)
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--transactions", type=int, default=100_000)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database that may be dropped (see the docstring).")
    os.environ.pop("REDIS_URL", None)  # tasks in-process: everything an ingest leads to is written here
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finobs.settings")
    os.environ.setdefault("CALLBACK_ALLOW_PRIVATE", "1")
    recreate_database(url)

    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)
    from django.core.management import call_command

    from delivery.services import callback_endpoint_create, deliveries_fan_out
    from ingestion.services import ingest
    from organisations.context import organisation_context
    from organisations.models import Organisation
    from scoring.generator import generate
    from scoring.services import model_train

    call_command("migrate", verbosity=0)
    organisation = Organisation.objects.get(slug="default")
    with organisation_context(organisation):
        model_train(actor="bench", n_accounts=1000, days=14)
        callback_endpoint_create(name="all", url="http://127.0.0.1:9/hooks", event_types=["*"], actor="bench")
    before = table_sizes()
    days = 30
    n_accounts = max(1, round(args.transactions / days / 1.6))  # the generator makes ~1.6 per account and day
    records = generate(n_accounts=n_accounts, days=days, seed=20261207).records[: args.transactions]
    started = time.perf_counter()
    for start in range(0, len(records), 1000):
        ingest(records[start : start + 1000], organisation=organisation, source="growth", actor="bench")
        if start % 20_000 == 0:
            print(f"{start:,} ingested, {time.perf_counter() - started:.0f} s", flush=True)
    with organisation_context(None):
        deliveries_fan_out()
    after = table_sizes()
    n = len(records)
    print(f"\n{n:,} transactions ingested in {time.perf_counter() - started:.0f} s\n")
    print(f"{'table':40} {'rows':>10} {'bytes':>14} {'rows / 1M tx':>14} {'MB / 1M tx':>12}")
    for name in sorted(after, key=lambda t: after[t][1] - before.get(t, (0, 0))[1], reverse=True):
        rows = after[name][0] - before.get(name, (0, 0))[0]
        size = after[name][1] - before.get(name, (0, 0))[1]
        if rows or size > 64 * 1024:
            print(
                f"{name:40} {rows:>10,} {size:>14,} {rows * 1_000_000 / n:>14,.0f} {size * 10**6 / n / 2**20:>12,.0f}"
            )


if __name__ == "__main__":
    main()
