"""The ways data comes in and goes out, each with something to show: a callback endpoint with delivered
webhooks and one dead letter, a pull source (disabled since) with its last run, and a CSV upload with
per-row errors. The partner on the other end is a local server the demo starts and stops."""

import csv
import io
from datetime import timedelta
from functools import partial

from django.utils import timezone

from delivery.models import CallbackEndpoint, Delivery
from delivery.services import callback_endpoint_create, callback_endpoint_update
from delivery.services.callbacks import deliveries_enqueue_due
from finobs.demo import Demo
from finobs.demo.history import relay
from finobs.demo.partner import Partner
from ingestion.models import PullRun, PullSource, UploadJob
from ingestion.services import pull_source_run, pull_source_save, upload_create
from scoring.generator import generate

CALLBACK_HOURS = 48  # the endpoint receives the last two days' case events
DUE_SWEEP_MINUTES = 10  # how often, while the endpoint listens, the outbox is relayed and due retries are sent
PULL_SOURCE = "processor"
UPLOAD_SOURCE = "branch-upload"
UPLOAD_COLUMNS = ["external_id", "account_id", "amount", "currency", "timestamp", "merchant_id",
                  "merchant_category", "country", "channel"]  # fmt: skip
# Rows a branch got wrong, as a person would: (row index, column, value).
UPLOAD_MISTAKES = [(4, "currency", "EURO"), (11, "amount", "12,50"), (23, "timestamp", "yesterday 14:00")]


def _partner(demo: Demo) -> Partner:
    """The local partner server, started on first use and stopped when the organisation's steps end."""
    if "partner" not in demo.shared:
        feed = generate(n_accounts=15, days=1, seed=demo.seed + 500, start=demo.end - timedelta(days=2)).records
        demo.shared["partner"] = partner = Partner(records=feed).start()
        demo.on_finish.append(partner.stop)
    return demo.shared["partner"]


def callbacks(demo: Demo) -> str | None:
    if not demo.is_showcase:
        return None
    if not demo.is_new:
        return _callbacks_line()
    demo.at(demo.end - timedelta(hours=CALLBACK_HOURS), partial(_endpoint, demo))
    return None


def _endpoint(demo: Demo) -> None:
    partner = _partner(demo)
    endpoint, _ = callback_endpoint_create(
        name="Case desk (demo receiver)",
        url=f"{partner.url}/webhooks",
        event_types=["case.*"],
        actor=demo.user("org_admin"),
    )
    when = timezone.now() + timedelta(minutes=DUE_SWEEP_MINUTES)
    while when < demo.end:
        demo.at(when, _relay_and_retry)
        when += timedelta(minutes=DUE_SWEEP_MINUTES)
    # The receiver stops with the demo: pause the endpoint so the server does not keep calling it.
    demo.at(demo.end - timedelta(minutes=1), partial(_pause, demo, endpoint.pk))


def _relay_and_retry() -> None:
    relay()
    deliveries_enqueue_due()


def _pause(demo: Demo, endpoint_id: int) -> None:
    endpoint = CallbackEndpoint.objects.get(pk=endpoint_id)
    callback_endpoint_update(endpoint=endpoint, actor=demo.user("org_admin"), is_active=False)
    demo.write(_callbacks_line())


def _callbacks_line() -> str:
    deliveries = Delivery.objects.all()
    delivered = deliveries.filter(status=Delivery.Status.DELIVERED).count()
    dead = deliveries.filter(status=Delivery.Status.DEAD).count()
    return (
        f"  Callbacks: endpoint 'Case desk (demo receiver)', {delivered} webhooks delivered, {dead} dead letter(s) "
        "to redeliver (paused: its receiver runs only while the demo is set up)."
    )


def pull_source(demo: Demo) -> str | None:
    if not demo.is_showcase:
        return None
    if not demo.is_new:
        return _pull_line()
    demo.at(demo.end - timedelta(hours=26), partial(_pull, demo))
    demo.at(demo.end - timedelta(hours=20), partial(_disable, demo))
    return None


def _pull(demo: Demo) -> None:
    partner = _partner(demo)
    source = pull_source_save(
        source=PullSource(
            name="Card processor settlements",
            source=PULL_SOURCE,
            url=f"{partner.url}/transactions",
            records_path="data",
            cursor_param="cursor",
            next_cursor_path="next",
            interval_s=900,
            max_pages_per_run=10,
        ),
        actor=demo.user("org_admin"),
    )
    pull_source_run(source=source)


def _disable(demo: Demo) -> None:
    source = PullSource.objects.get(source=PULL_SOURCE)
    source.is_enabled = False
    pull_source_save(source=source, actor=demo.user("org_admin"))
    demo.write(_pull_line())


def _pull_line() -> str:
    run = PullRun.objects.order_by("-started_at").first()
    if run is None:
        return "  Pull source: none."
    return (
        f"  Pull source 'Card processor settlements' (disabled): last run {run.status}, {run.pages} pages, "
        f"{run.accepted} transactions accepted."
    )


def upload(demo: Demo) -> str | None:
    if not demo.is_showcase:
        return None
    if not demo.is_new:
        return _upload_line()
    demo.at(demo.end - timedelta(days=3, hours=2), partial(_upload, demo))
    return None


def _upload(demo: Demo) -> None:
    """An analyst uploads a branch's spreadsheet export; three of its rows are wrong."""
    day = timezone.now() - timedelta(days=1)
    records = generate(n_accounts=12, days=1, seed=demo.seed + 700, start=day).records[:40]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=UPLOAD_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for index, record in enumerate(records):
        row = {**record}
        for at, column, value in UPLOAD_MISTAKES:
            if at == index:
                row[column] = value
        writer.writerow(row)
    upload_create(
        organisation=demo.organisation,
        uploaded_by=demo.user("analyst"),
        name=f"branch-report-{day:%Y-%m-%d}.csv",
        data=out.getvalue().encode(),
        source=UPLOAD_SOURCE,
    )
    demo.write(_upload_line())


def _upload_line() -> str:
    job = UploadJob.objects.order_by("-created_at").first()
    if job is None:
        return "  Upload: none."
    return f"  Upload {job.original_name}: {job.status}, {job.accepted} rows accepted, {job.invalid} with errors."
