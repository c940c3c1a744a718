"""Pull sources against a real partner feed on a local HTTP server: paging, cursor, back-off, breaker, schedule."""

import time
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from audit.models import AuditEvent
from audit.services import audit_verify
from conftest import thread_in_this_context
from ingestion.models import PullRun, PullSource
from ingestion.services import pull_source_delete, pull_source_reset_breaker, pull_source_run, pull_source_save
from ingestion.tests.feed_server import TOKEN, Feed
from scoring.models import Transaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def feed(settings):
    settings.PULL_ALLOW_PRIVATE = True
    with Feed() as feed:
        yield feed


def make_source(feed: Feed, **overrides) -> PullSource:
    fields = {
        "name": "Bank feed",
        "source": "bank-feed",
        "url": feed.url,
        "auth_header_name": "Authorization",
        "auth_header_value": TOKEN,
        "query_params": {"limit": 10},
        "records_path": "data.items",
        "cursor_param": "after",
        "next_cursor_path": "paging.next",
        "cursor_field": "external_id",
        **overrides,
    }
    return pull_source_save(source=PullSource(**fields), actor="tests")


def stored_ids() -> list[str]:
    return sorted(Transaction.objects.filter(source="bank-feed").values_list("external_id", flat=True))


def end_backoff(source: PullSource) -> None:
    """As if the back-off had elapsed."""
    PullSource.objects.filter(pk=source.pk).update(backoff_until=timezone.now() - timedelta(seconds=1))


class TestPulling:
    def test_a_run_ingests_every_page_and_stores_the_cursor(self, champion, feed):
        source = make_source(feed)

        run = pull_source_run(source=source)

        assert run.status == PullRun.Status.OK, run.error
        assert (run.pages, run.fetched, run.accepted, run.duplicates, run.invalid) == (3, 25, 25, 0, 0)
        assert (run.cursor_before, run.cursor_after) == ("", "bf-0025")
        source.refresh_from_db()
        assert source.cursor == "bf-0025"
        assert stored_ids() == [f"bf-{i:04d}" for i in range(1, 26)]
        assert [r["query"].get("after") for r in feed.requests] == [None, "bf-0010", "bf-0020"]
        assert {r["auth"] for r in feed.requests} == {TOKEN}
        assert all(r["query"]["limit"] == "10" for r in feed.requests)
        # Unknown partner fields are kept in metadata.
        assert Transaction.objects.get(external_id="bf-0003").metadata == {"terminal_id": "T3"}

    def test_the_run_is_in_the_audit_trail_with_the_source_as_actor(self, champion, feed):
        source = make_source(feed)
        pull_source_run(source=source)
        actor = f"pull:{source.pk}:bank-feed"
        summary = AuditEvent.objects.get(action="pull.ok")
        assert summary.actor == actor
        assert summary.payload["accepted"] == 25 and summary.payload["cursor_after"] == "bf-0025"
        assert AuditEvent.objects.filter(action="ingest.batch", actor=actor).count() == 3
        assert audit_verify().ok

    def test_the_next_run_fetches_only_new_records(self, champion, feed):
        source = make_source(feed)
        pull_source_run(source=source)
        feed.add(5)
        feed.requests.clear()

        run = pull_source_run(source=source)

        assert run.status == PullRun.Status.OK, run.error
        assert [r["query"].get("after") for r in feed.requests] == ["bf-0025"]
        assert (run.fetched, run.accepted, run.duplicates) == (5, 5, 0)
        assert run.cursor_after == "bf-0030"
        assert len(stored_ids()) == 30

        quiet = pull_source_run(source=source)
        assert (quiet.status, quiet.pages, quiet.fetched, quiet.cursor_after) == ("ok", 1, 0, "bf-0030")

    def test_page_limit_stops_a_run_and_the_next_run_continues(self, champion, feed):
        source = make_source(feed, max_pages_per_run=2)
        first = pull_source_run(source=source)
        assert (first.pages, first.accepted, first.cursor_after) == (2, 20, "bf-0020")
        second = pull_source_run(source=source)
        assert (second.pages, second.accepted, second.cursor_after) == (1, 5, "bf-0025")
        assert len(stored_ids()) == 25

    def test_a_re_pulled_page_is_only_duplicates(self, champion, feed):
        """A crash after ingesting a page but before storing its cursor re-pulls that page: nothing doubles."""
        source = make_source(feed)
        pull_source_run(source=source)
        PullSource.objects.filter(pk=source.pk).update(cursor="bf-0015")

        run = pull_source_run(source=source)

        assert (run.status, run.fetched, run.accepted, run.duplicates) == ("ok", 10, 0, 10)
        assert len(stored_ids()) == 25

    def test_records_path_empty_means_the_body_is_the_list(self, champion, feed, settings):
        feed.records = feed.records[:3]
        source = make_source(feed, records_path="data.items", cursor_param="", next_cursor_path="", cursor_field="")
        assert pull_source_run(source=source).accepted == 3
        source.records_path = "data"
        source.save()
        run = pull_source_run(source=source)
        assert run.status == "failed"
        assert "'data' is a dict, not a list of records" in run.error

    def test_invalid_records_are_counted_and_named_the_rest_is_ingested(self, champion, feed):
        feed.records[12]["amount"] = "lots"
        del feed.records[21]["currency"]
        run = pull_source_run(source=make_source(feed))
        assert (run.status, run.accepted, run.invalid) == ("ok", 23, 2)
        assert run.item_errors == [
            {"page": 2, "index": 2, "field": "amount", "message": "Invalid decimal string"},
            {"page": 3, "index": 1, "field": "currency", "message": "This field is required."},
        ]

    def test_same_host_redirect_is_followed(self, champion, feed):
        feed.mode = "redirect_here"
        run = pull_source_run(source=make_source(feed))
        assert run.status == "ok", run.error
        assert run.accepted == 25
        assert feed.requests[1]["path"] == "/v2/transactions"

    def test_a_second_run_while_one_holds_the_source_is_skipped(self, champion, feed):
        source = make_source(feed)
        PullSource.objects.filter(pk=source.pk).update(running_since=timezone.now())
        run = pull_source_run(source=source)
        assert run.status == PullRun.Status.SKIPPED
        assert "in progress" in run.error
        assert feed.requests == []


class TestFailures:
    def test_server_errors_back_off_exponentially_then_the_breaker_opens(self, champion, feed, settings):
        settings.PULL_BACKOFF_BASE_S = 60
        settings.PULL_BACKOFF_MAX_S = 3600
        settings.PULL_BREAKER_THRESHOLD = 3
        source = make_source(feed)
        feed.mode = "error"

        waits = []
        for expected_failures in (1, 2, 3):
            before = timezone.now()
            run = pull_source_run(source=source)
            assert run.status == PullRun.Status.FAILED
            assert run.error.startswith("HTTP 503 Service Unavailable from http://127.0.0.1:")
            source.refresh_from_db()
            assert source.consecutive_failures == expected_failures
            waits.append(round((source.backoff_until - before).total_seconds() / 60))
            # While backing off, runs are skipped without calling the partner.
            calls = len(feed.requests)
            skipped = pull_source_run(source=source)
            assert skipped.status == PullRun.Status.SKIPPED and "Backing off" in skipped.error
            assert len(feed.requests) == calls
            end_backoff(source)
        assert waits == [1, 2, 60]  # minutes: base, 2 x base, then open for the maximum
        assert AuditEvent.objects.filter(action="pull.failed").count() == 3
        assert not Transaction.objects.exists()

        feed.mode = "ok"
        run = pull_source_run(source=source)
        assert run.status == PullRun.Status.OK
        source.refresh_from_db()
        assert (source.consecutive_failures, source.backoff_until) == (0, None)

    def test_reset_breaker_lets_the_next_run_go_ahead(self, champion, feed, make_user):
        source = make_source(feed)
        feed.mode = "error"
        pull_source_run(source=source)
        feed.mode = "ok"
        assert pull_source_run(source=source).status == PullRun.Status.SKIPPED

        pull_source_reset_breaker(source=source, actor=make_user("org_admin", "ada"))

        assert pull_source_run(source=source).status == PullRun.Status.OK
        assert AuditEvent.objects.filter(action="pull_source.breaker_reset", actor="user:ada").exists()

    def test_bad_json_is_a_clear_failed_run(self, champion, feed):
        source = make_source(feed)
        feed.mode = "bad_json"
        run = pull_source_run(source=source)
        assert run.status == PullRun.Status.FAILED
        assert run.error.startswith("The response is not valid JSON")
        assert run.pages == 0 and not Transaction.objects.exists()

    def test_records_that_are_not_a_list_fail_the_run(self, champion, feed):
        feed.mode = "not_a_list"
        run = pull_source_run(source=make_source(feed))
        assert run.status == PullRun.Status.FAILED
        assert run.error == "'data.items' is a dict, not a list of records."

    def test_a_wrong_secret_is_a_failed_run(self, champion, feed):
        run = pull_source_run(source=make_source(feed, auth_header_value="Bearer wrong"))
        assert run.status == PullRun.Status.FAILED
        assert "HTTP 401" in run.error

    def test_a_timeout_is_a_failed_run(self, champion, feed, settings):
        settings.PULL_TIMEOUT_S = 0.5
        feed.mode = "slow"
        run = pull_source_run(source=make_source(feed))
        assert run.status == PullRun.Status.FAILED
        assert run.error.startswith("Timed out after 0.5 s")

    def test_a_failure_after_some_pages_keeps_their_records_and_cursor(self, champion, feed):
        source = make_source(feed, query_params={"limit": 10})
        pull_source_run(source=source)
        feed.add(15)
        original_page = feed.page

        def second_page_breaks(after, limit):
            if after == "bf-0035":
                raise RuntimeError("partner crashed")
            return original_page(after, limit)

        feed.page = second_page_breaks  # the handler thread dies: the connection closes without a response
        run = pull_source_run(source=source)
        assert run.status == PullRun.Status.FAILED
        assert (run.pages, run.accepted, run.cursor_after) == (1, 10, "bf-0035")
        source.refresh_from_db()
        assert source.cursor == "bf-0035"

    def test_redirect_to_another_host_is_refused(self, champion, feed):
        feed.mode = "redirect_away"
        run = pull_source_run(source=make_source(feed))
        assert run.status == PullRun.Status.FAILED
        assert run.error.startswith("Refused a redirect to another host: http://localhost:")
        assert len(feed.requests) == 1


class TestSsrf:
    def test_private_hosts_are_refused_on_save(self, feed, settings):
        settings.PULL_ALLOW_PRIVATE = False
        with pytest.raises(ValidationError) as refused:
            make_source(feed)
        assert "non-public address" in str(refused.value)
        assert not PullSource.objects.exists()
        assert not PeriodicTask.objects.filter(name__startswith="pull-source-").exists()

    def test_private_hosts_are_refused_before_each_request(self, champion, feed, settings):
        source = make_source(feed)
        settings.PULL_ALLOW_PRIVATE = False
        run = pull_source_run(source=source)
        assert run.status == PullRun.Status.FAILED
        assert run.error.startswith(f"Refused to call {feed.url}")
        assert feed.requests == []


class TestOutboundPinning:
    def test_a_run_pulls_from_the_address_checked_never_from_a_later_answer(
        self, champion, feed, settings, monkeypatch
    ):
        """DNS answers a public address, then an internal one (rebinding). The partner's server closes each
        connection, so each page is a new connection: looked up once, checked, and connected to that answer."""
        from kernel.tests.internet import Internet, Server

        settings.PULL_ALLOW_PRIVATE = False
        internet = Internet(monkeypatch)  # the outside: DNS answers, and where the public address leads
        internet.answer("feed.rebind.example", ["93.184.216.34"])
        internet.route("93.184.216.34", to="127.0.0.1")
        source = make_source(feed, url=f"http://feed.rebind.example:{feed.port}/transactions")
        internet.answer("feed.rebind.example", ["93.184.216.34"], ["127.0.0.2"])
        internet.lookups.clear()
        with Server("127.0.0.2", feed.port, name="internal") as internal:
            run = pull_source_run(source=source)
        assert (run.status, run.pages, run.accepted) == (PullRun.Status.FAILED, 1, 10)
        assert "non-public address (127.0.0.2)" in run.error
        assert len(feed.requests) == 1 and feed.requests[0]["auth"] == TOKEN  # the first page, from the partner
        assert internet.lookups_of("feed.rebind.example") == 2  # one per connection
        assert internal.requests == [] and internet.dials == ["93.184.216.34"]

    def test_an_internal_answer_fails_the_run_without_a_request(self, champion, feed, settings, monkeypatch):
        from kernel.tests.internet import Internet

        settings.PULL_ALLOW_PRIVATE = False
        internet = Internet(monkeypatch)
        internet.answer("feed.rebind.example", ["93.184.216.34"])
        source = make_source(feed, url=f"http://feed.rebind.example:{feed.port}/transactions")
        internet.answer("feed.rebind.example", ["127.0.0.1"])
        run = pull_source_run(source=source)
        assert run.status == PullRun.Status.FAILED
        assert run.error.startswith("Refused to call http://feed.rebind.example")
        assert "non-public address (127.0.0.1)" in run.error
        assert feed.requests == [] and internet.dials == []

    def test_a_server_that_drips_its_answer_is_cut_at_the_deadline(self, champion, feed, settings):
        """Each byte comes well inside any per-read timeout: only PULL_TIMEOUT_S for the whole page stops it."""
        import socket
        import threading

        listener = socket.create_server(("127.0.0.1", 0))
        stop = threading.Event()

        def drip():
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b" " * 100:  # a byte per 0.1 s
                    if stop.wait(0.1):
                        return
                    connection.sendall(bytes([byte]))

        threading.Thread(target=drip, daemon=True).start()
        settings.PULL_TIMEOUT_S = 1
        source = make_source(feed, url=f"http://127.0.0.1:{listener.getsockname()[1]}/transactions")
        started = time.monotonic()
        try:
            run = pull_source_run(source=source)
        finally:
            stop.set()
            listener.close()
        assert run.status == PullRun.Status.FAILED
        assert run.error.startswith("Timed out after 1 s")
        assert time.monotonic() - started < 5  # not the 14 s the server would take


class TestSchedule:
    def test_the_periodic_task_follows_the_source(self, feed):
        source = make_source(feed, interval_s=300)
        task = PeriodicTask.objects.get(name=f"pull-source-{source.pk}")
        assert task.task == "ingestion.tasks.pull_source_run_task"
        assert task.args == f"[{source.pk}]"
        assert (task.interval.every, task.interval.period, task.enabled) == (300, "seconds", True)

        source.interval_s = 60
        source.is_enabled = False
        pull_source_save(source=source, actor="tests")
        task = PeriodicTask.objects.get(name=f"pull-source-{source.pk}")
        assert (task.interval.every, task.enabled) == (60, False)
        assert PeriodicTask.objects.filter(name__startswith="pull-source-").count() == 1

        pull_source_delete(source=source, actor="tests")
        assert not PeriodicTask.objects.filter(name__startswith="pull-source-").exists()
        assert not PullSource.objects.exists()
        assert list(AuditEvent.objects.filter(object_type="pull_source").values_list("action", flat=True)) == [
            "pull_source.created",
            "pull_source.updated",
            "pull_source.deleted",
        ]

    def test_the_scheduled_task_runs_the_source(self, champion, feed):
        from ingestion.tasks import pull_source_run_task

        source = make_source(feed)
        pull_source_run_task(source.pk)  # what beat's PeriodicTask calls
        assert PullRun.objects.get(pull_source=source).accepted == 25

    def test_history_never_holds_the_secret(self, feed):
        source = make_source(feed)
        source.interval_s = 120
        pull_source_save(source=source, actor="tests")
        history = source.history.all()
        assert history.count() == 2
        assert not hasattr(history.first(), "auth_header_value")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_never_run_the_same_source_at_once(champion, feed):
    """Beat and "Run now" may fire together: the second run finds the source claimed and is skipped."""

    from django.db import connection

    source = make_source(feed)
    feed.mode = "slow"  # the first run holds the source for a few seconds
    results = []

    def first_worker():
        try:
            results.append(pull_source_run(source=PullSource.objects.get(pk=source.pk)))
        finally:
            connection.close()

    worker = thread_in_this_context(first_worker)
    worker.start()
    deadline = timezone.now() + timedelta(seconds=10)
    while not feed.requests:
        assert timezone.now() < deadline, "the first run never called the feed"
        time.sleep(0.05)

    second = pull_source_run(source=PullSource.objects.get(pk=source.pk))
    worker.join(timeout=30)

    assert second.status == PullRun.Status.SKIPPED and "in progress" in second.error
    assert results[0].status == PullRun.Status.OK, results[0].error
    assert results[0].accepted == 25
    assert len({r["query"].get("after") for r in feed.requests}) == len(feed.requests)  # no page fetched twice
