"""Pull-source and CSV-upload throughput: rows per second through ingest(), end to end.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/finobs_bench python bench/sources.py

on a fresh database (the pipeline's cost grows with the accounts' history; or with no DATABASE_URL,
the embedded SQLite in var/). With REDIS_URL, explanations and the relay are queued for a worker as
in production instead of running in-process. Migrates, trains a champion if there is
none, then (1) pulls --rows records from a paged feed on a local HTTP server (pages of --page
records, one ingest() per page, cursor stored after each) and (2) processes a --rows-row CSV upload
(chunks of UPLOAD_CHUNK_ROWS, progress committed per chunk), and prints rows/s for each.
"""

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finobs.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--page", type=int, default=1_000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from bench.ingest import bench_organisation, next_records
    from ingestion.models import PullSource
    from ingestion.services import pull_source_run, pull_source_save, upload_create, upload_process
    from ingestion.tests.feed_server import TOKEN, Feed
    from scoring.models import ModelVersion
    from scoring.services import model_train

    call_command("migrate", verbosity=0)
    organisation = bench_organisation()  # the default organisation unless BENCH_ORGANISATION names one
    if not ModelVersion.objects.filter(status="champion").exists():
        model_train(actor="bench")
    settings.PULL_ALLOW_PRIVATE = True
    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]

    with Feed() as feed:
        feed.records = next_records(args.rows)
        source = pull_source_save(
            source=PullSource(
                name=f"bench-{uuid.uuid4().hex[:6]}",
                source=f"bench-pull-{uuid.uuid4().hex[:6]}",
                url=feed.url,
                auth_header_name="Authorization",
                auth_header_value=TOKEN,
                query_params={"limit": args.page},
                records_path="data.items",
                cursor_param="after",
                next_cursor_path="paging.next",
                cursor_field="external_id",
                max_pages_per_run=args.rows // args.page + 2,
            ),
            actor="bench",
        )
        started = time.perf_counter()
        run = pull_source_run(source=source)
        pull_s = time.perf_counter() - started
    assert run.status == "ok" and run.accepted == args.rows, (run.status, run.accepted, run.error)
    print(f"pull   {database}: {args.rows} records in {run.pages} pages of {args.page}: "
          f"{pull_s:.2f} s, {args.rows / pull_s:,.0f} rows/s")  # fmt: skip

    records = next_records(args.rows)
    columns = ["external_id", "account_id", "amount", "currency", "timestamp", "merchant_id",
               "merchant_category", "country", "channel"]  # fmt: skip
    lines = [",".join(columns)] + [",".join(str(r.get(c, "")) for c in columns) for r in records]
    user, _ = get_user_model().objects.get_or_create(username="bench-uploader")
    started = time.perf_counter()
    job = upload_create(
        organisation=organisation,
        uploaded_by=user,
        name="bench.csv",
        data=("\n".join(lines) + "\n").encode(),
        source=f"bench-csv-{uuid.uuid4().hex[:6]}",
    )
    upload_process(job_id=job.pk)  # in-process, as a worker would
    upload_s = time.perf_counter() - started
    job.refresh_from_db()
    assert job.status == "done" and job.accepted == args.rows, (job.status, job.accepted, job.errors[:3])
    print(f"upload {database}: {args.rows} rows in chunks of {settings.UPLOAD_CHUNK_ROWS}: "
          f"{upload_s:.2f} s, {args.rows / upload_s:,.0f} rows/s")  # fmt: skip


if __name__ == "__main__":
    main()
