"""CSV upload through the pages: queued, ingested in chunks by the Celery task, row errors listed; scoped."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from conftest import default_organisation, run_in_threads
from ingestion.models import UploadJob
from ingestion.services import upload_create, upload_process
from ingestion.services.pipeline import ingest
from scoring.models import Transaction

URL = "/ingest/uploads/"
HEADER = "external_id,account_id,amount,currency,timestamp,merchant_id,merchant_category,country,channel,note"


def csv_file(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def good_row(n: int, **overrides) -> str:
    cells = {
        "external_id": f"up-{n}",
        "account_id": f"acc-{n % 5}",
        "amount": f"{n}.50",
        "currency": "EUR",
        "timestamp": "2026-11-20T10:00:00Z",
        "merchant_id": f"m-{n}",
        "merchant_category": "5411",
        "country": "DE",
        "channel": "card_present",
        "note": "",
    }
    cells.update(overrides)
    return ",".join(cells.values())


MIXED = csv_file(
    good_row(1, note="from the branch ledger"),
    good_row(2, amount="12,5".join('""')),  # "12,5": a comma decimal, not a number
    good_row(3),
    "",  # a blank line is skipped but keeps the numbering of the lines after it
    good_row(5, currency="EURO"),
    good_row(1),  # the same external_id again
    good_row(7, merchant_category="", country="", channel=""),
)


def logged_in(make_user, role: str, username: str) -> tuple[Client, object]:
    user = make_user(role, username)
    client = Client()
    client.force_login(user)
    return client, user


def upload(client: Client, data: bytes, name: str = "ledger.csv", **extra):
    return client.post(URL, {"file": SimpleUploadedFile(name, data, content_type="text/csv"), **extra})


def wait_until_finished(job_id: int, timeout_s: float = 60) -> UploadJob:
    deadline = time.monotonic() + timeout_s
    while True:
        job = UploadJob.objects.get(pk=job_id)
        if job.is_finished:
            return job
        assert time.monotonic() < deadline, f"upload {job_id} still {job.status}"
        time.sleep(0.2)


@pytest.mark.django_db(transaction=True)
class TestUploadAndProcess:
    def test_analyst_upload_is_ingested_with_counts_and_row_errors(self, champion, make_user, celery_worker_if_queued):
        client, alice = logged_in(make_user, "analyst", "alice")

        response = upload(client, MIXED)

        job = UploadJob.objects.get()
        assert response.status_code == 302
        assert response["Location"] == f"/ingest/uploads/{job.pk}/"
        job = wait_until_finished(job.pk)
        assert job.status == UploadJob.Status.DONE, job.failure
        assert (job.total_rows, job.processed_rows) == (6, 6)
        assert (job.accepted, job.duplicates, job.invalid) == (3, 1, 2)
        assert job.errors == [
            {"row": 2, "field": "amount", "message": "Invalid decimal string"},
            {"row": 5, "field": "currency", "message": "Must be an ISO 4217 currency code such as EUR or USD."},
        ]
        assert job.uploaded_by == alice and job.source == "csv-upload"
        stored = Transaction.objects.filter(source="csv-upload")
        assert sorted(stored.values_list("external_id", flat=True)) == ["up-1", "up-3", "up-7"]
        assert stored.get(external_id="up-1").metadata == {"note": "from the branch ledger"}
        assert stored.get(external_id="up-7").merchant_category == ""
        actions = set(AuditEvent.objects.filter(actor="user:alice").values_list("action", flat=True))
        assert {"upload.created", "upload.done", "ingest.batch"} <= actions

        page = client.get(f"/ingest/uploads/{job.pk}/").content.decode()
        assert "100%" in page
        assert "<td>5</td><td><code>currency</code></td>" in page
        fragment = client.get(f"/ingest/uploads/{job.pk}/?fragment=progress").content.decode()
        assert 'data-status="done"' in fragment
        assert "hx-trigger" not in fragment  # finished: the page stops polling

    def test_the_same_file_again_is_only_duplicates(self, champion, make_user, celery_worker_if_queued):
        client, _ = logged_in(make_user, "analyst", "alice")
        upload(client, MIXED)
        wait_until_finished(UploadJob.objects.get().pk)

        upload(client, MIXED)
        again = wait_until_finished(UploadJob.objects.latest("id").pk)
        assert (again.accepted, again.duplicates, again.invalid) == (0, 4, 2)

    def test_chunks_keep_row_numbers_and_counts(self, champion, make_user, settings, celery_worker_if_queued):
        settings.UPLOAD_CHUNK_ROWS = 3
        settings.UPLOAD_MAX_ERRORS = 2
        rows = [good_row(n, amount="x" if n % 4 == 0 else f"{n}.00") for n in range(1, 21)]
        client, _ = logged_in(make_user, "analyst", "alice")
        upload(client, csv_file(*rows), source="branch-7")
        job = wait_until_finished(UploadJob.objects.get().pk)

        assert (job.total_rows, job.accepted, job.invalid) == (20, 15, 5)
        assert [e["row"] for e in job.errors] == [4, 8]
        assert job.errors_not_kept == 3
        assert Transaction.objects.filter(source="branch-7").count() == 15
        page = client.get(f"/ingest/uploads/{job.pk}/").content.decode()
        assert "and 3 more not listed" in page


@pytest.mark.django_db
class TestResume:
    def test_redelivery_resumes_after_the_committed_rows(self, champion, make_user, settings):
        """A worker died after committing rows 1-4; the redelivered task goes on from row 5."""
        settings.UPLOAD_CHUNK_ROWS = 4
        alice = make_user("analyst", "alice")
        job = upload_create(  # outside a committed transaction: nothing is enqueued in this test
            organisation=default_organisation(),
            uploaded_by=alice,
            name="ledger.csv",
            data=csv_file(*[good_row(n) for n in range(1, 11)]),
            source="csv",
        )
        first = ingest(
            [{"external_id": f"up-{n}", "account_id": f"acc-{n % 5}", "amount": f"{n}.50", "currency": "EUR",
              "timestamp": "2026-11-20T10:00:00Z"} for n in range(1, 5)],
            organisation=default_organisation(),
            source="csv",
            actor=alice,
        )  # fmt: skip
        UploadJob.objects.filter(pk=job.pk).update(status="running", processed_rows=4, accepted=first.accepted)

        upload_process(job_id=job.pk)

        job.refresh_from_db()
        assert (job.status, job.processed_rows, job.accepted, job.duplicates) == ("done", 10, 10, 0)
        upload_process(job_id=job.pk)  # delivered once more after it finished: nothing changes
        job.refresh_from_db()
        assert (job.accepted, job.duplicates) == (10, 0)
        assert Transaction.objects.filter(source="csv").count() == 10


@pytest.mark.django_db
def test_a_job_that_cannot_go_on_fails_with_the_reason_on_its_page(make_user):
    """No champion model: nothing can be scored, the job says so instead of spinning forever."""
    client, alice = logged_in(make_user, "analyst", "alice")
    job = upload_create(
        organisation=default_organisation(),
        uploaded_by=alice,
        name="ledger.csv",
        data=csv_file(good_row(1)),
        source="csv",
    )
    with pytest.raises(Exception, match="No champion model"):
        upload_process(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == UploadJob.Status.FAILED
    page = client.get(f"/ingest/uploads/{job.pk}/?fragment=progress").content.decode()
    assert "The job stopped: NoChampionModel: No champion model is registered" in page
    assert "hx-trigger" not in page


BAD_FILES = [
    ("not UTF-8", "Caf\xe9 ledger".encode("latin-1") + b"\n" + "é,1".encode("latin-1"), "is not UTF-8 text"),
    ("empty", b"", "The submitted file is empty."),
    ("blank", b"\n\n  \n", "The file is empty."),
    ("header only", csv_file(), "The file has a header but no rows."),
    (
        "missing columns",
        csv_file("up-1,acc-1,10.00", header="external_id,account_id,amount"),
        "missing: currency, timestamp.",
    ),
    ("no header", csv_file(good_row(2), header=good_row(1)), "The first line must be a header"),
    (
        "repeated column",
        csv_file(good_row(1) + ",1", header=HEADER + ",amount"),
        "more than once in the header: amount",
    ),
]


@pytest.mark.django_db
class TestRefusedFiles:
    @pytest.mark.parametrize(("data", "message"), [b[1:] for b in BAD_FILES], ids=[b[0] for b in BAD_FILES])
    def test_bad_files_are_refused_and_nothing_is_queued(self, make_user, data, message):
        client, _ = logged_in(make_user, "analyst", "alice")
        response = upload(client, data)
        assert response.status_code == 400
        assert message in response.content.decode()
        assert not UploadJob.objects.exists()

    def test_too_large_is_refused(self, make_user, settings):
        settings.UPLOAD_MAX_BYTES = 200
        client, _ = logged_in(make_user, "analyst", "alice")
        response = upload(client, csv_file(*[good_row(n) for n in range(10)]))
        assert response.status_code == 400
        assert "the limit is 200 bytes" in response.content.decode()
        assert not UploadJob.objects.exists()

    def test_an_integrations_source_is_refused(self, make_user, api_key):
        """Rows uploaded as "acme" would turn acme's real transactions into unscored duplicates."""
        client, _ = logged_in(make_user, "analyst", "alice")
        response = upload(client, csv_file(good_row(1)), source="acme")
        assert response.status_code == 400
        assert "belongs to an integration" in response.content.decode()
        assert not UploadJob.objects.exists()

    def test_no_file_is_a_form_error(self, make_user):
        client, _ = logged_in(make_user, "analyst", "alice")
        response = client.post(URL, {"source": "csv"})
        assert response.status_code == 400
        assert "This field is required." in response.content.decode()


@pytest.mark.django_db
class TestWhoMay:
    def make_job(self, user, name="theirs.csv") -> UploadJob:
        return upload_create(
            organisation=default_organisation(), uploaded_by=user, name=name, data=csv_file(good_row(1)), source="csv"
        )

    def test_another_analysts_upload_is_a_404(self, make_user):
        client, _ = logged_in(make_user, "analyst", "alice")
        bobs = self.make_job(make_user("analyst", "bob"))
        assert client.get(f"/ingest/uploads/{bobs.pk}/").status_code == 404
        assert client.get(f"/ingest/uploads/{bobs.pk}/?fragment=progress").status_code == 404
        assert "theirs.csv" not in client.get(URL).content.decode()

    def test_own_upload_is_listed(self, make_user):
        client, alice = logged_in(make_user, "analyst", "alice")
        mine = self.make_job(alice, "mine.csv")
        assert "mine.csv" in client.get(URL).content.decode()
        assert client.get(f"/ingest/uploads/{mine.pk}/").status_code == 200

    @pytest.mark.parametrize("role", ["compliance", "org_admin"])
    def test_compliance_and_admin_see_every_upload(self, make_user, role):
        client, _ = logged_in(make_user, role, "carol")
        bobs = self.make_job(make_user("analyst", "bob"))
        assert client.get(f"/ingest/uploads/{bobs.pk}/").status_code == 200
        listing = client.get(URL).content.decode()
        assert "theirs.csv" in listing and "All uploads" in listing

    def test_viewer_cannot_upload_or_see_the_page(self, make_user):
        client, _ = logged_in(make_user, "viewer", "vic")
        assert client.get(URL).status_code == 403
        assert upload(client, csv_file(good_row(1))).status_code == 403
        assert not UploadJob.objects.exists()
        assert 'href="/ingest/uploads/"' not in client.get("/cases/").content.decode()

    def test_analyst_has_the_link_in_the_navigation(self, make_user):
        client, _ = logged_in(make_user, "analyst", "alice")
        assert 'href="/ingest/uploads/"' in client.get("/cases/").content.decode()

    def test_anonymous_is_sent_to_log_in(self):
        response = Client().get(URL)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")

    def test_list_page_queries_do_not_grow_with_jobs(self, make_user):
        client, _ = logged_in(make_user, "compliance", "carol")
        for n in range(3):
            self.make_job(make_user("analyst", f"a{n}"))
        with CaptureQueriesContext(connection) as few:
            client.get(URL)
        for n in range(3, 15):
            self.make_job(make_user("analyst", f"a{n}"))
        with CaptureQueriesContext(connection) as many:
            assert client.get(URL).status_code == 200
        assert len(many) == len(few)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_deliveries_of_the_same_job_count_every_row_once(champion, make_user, settings):
    """A redelivered task running next to the first one: the job row lock hands out each chunk once."""

    settings.UPLOAD_CHUNK_ROWS = 5
    alice = make_user("analyst", "alice")
    with transaction.atomic():  # commit before the workers start; enqueueing is the workers' job here
        job = UploadJob.objects.create(
            uploaded_by=alice,
            source="csv",
            original_name="big.csv",
            content=csv_file(*[good_row(n) for n in range(1, 41)]).decode(),
            size_bytes=1,
            sha256="0" * 64,
            total_rows=40,
        )

    run_in_threads(lambda _: upload_process(job_id=job.pk), 2, timeout_s=120)

    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.accepted, job.duplicates, job.invalid) == ("done", 40, 40, 0, 0)
    assert Transaction.objects.filter(source="csv").count() == 40
