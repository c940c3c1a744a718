"""Pull sources in Django admin: the secret is write-only, "Run now" and "Reset breaker" work, delete unschedules."""

import time

import pytest
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from audit.models import AuditEvent
from ingestion.models import PullRun, PullSource
from ingestion.services import pull_source_save
from ingestion.tests.feed_server import TOKEN, Feed

ADD_URL = "/admin/ingestion/pullsource/add/"
LIST_URL = "/admin/ingestion/pullsource/"


@pytest.fixture
def feed(settings):
    settings.PULL_ALLOW_PRIVATE = True
    with Feed() as feed:
        yield feed


@pytest.fixture
def admin_client(make_user):
    user = make_user("org_admin", "ada")
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


def form_data(feed: Feed, **overrides) -> dict:
    return {
        "name": "Bank feed",
        "source": "bank-feed",
        "url": feed.url,
        "method": "GET",
        "is_enabled": "on",
        "interval_s": "300",
        "max_pages_per_run": "10",
        "auth_header_name": "Authorization",
        "auth_header_value": TOKEN,
        "query_params": '{"limit": 10}',
        "records_path": "data.items",
        "cursor_param": "after",
        "next_cursor_path": "paging.next",
        "cursor_field": "external_id",
        "cursor": "",
        "runs-TOTAL_FORMS": "0",
        "runs-INITIAL_FORMS": "0",
        "runs-MIN_NUM_FORMS": "0",
        "runs-MAX_NUM_FORMS": "1000",
        **overrides,
    }


@pytest.mark.django_db
class TestSecret:
    def test_add_schedules_and_the_secret_is_never_shown_back(self, admin_client, feed):
        response = admin_client.post(ADD_URL, form_data(feed))
        assert response.status_code == 302, response.content.decode()[:3000]
        source = PullSource.objects.get()
        assert source.auth_header_value == TOKEN
        assert PeriodicTask.objects.filter(name=f"pull-source-{source.pk}", enabled=True).exists()
        assert AuditEvent.objects.filter(action="pull_source.created", actor="user:ada").exists()

        for url in (LIST_URL, f"{LIST_URL}{source.pk}/change/", f"{LIST_URL}{source.pk}/history/"):
            page = admin_client.get(url)
            assert page.status_code == 200, url
            assert "feed-s3cret-token" not in page.content.decode(), url

    def test_saving_without_a_secret_keeps_it_and_clear_removes_it(self, admin_client, feed):
        admin_client.post(ADD_URL, form_data(feed))
        source = PullSource.objects.get()
        change = f"{LIST_URL}{source.pk}/change/"

        assert admin_client.post(change, form_data(feed, auth_header_value="", interval_s="60")).status_code == 302
        source.refresh_from_db()
        assert (source.auth_header_value, source.interval_s) == (TOKEN, 60)
        assert PeriodicTask.objects.get(name=f"pull-source-{source.pk}").interval.every == 60

        admin_client.post(change, form_data(feed, auth_header_value="", clear_auth_header_value="on"))
        source.refresh_from_db()
        assert source.auth_header_value == ""

    def test_a_private_url_is_a_form_error(self, admin_client, feed, settings):
        settings.PULL_ALLOW_PRIVATE = False
        response = admin_client.post(ADD_URL, form_data(feed))
        assert response.status_code == 200
        assert "non-public address" in response.content.decode()
        assert not PullSource.objects.exists()

    def test_delete_removes_the_schedule(self, admin_client, feed):
        admin_client.post(ADD_URL, form_data(feed))
        source = PullSource.objects.get()
        response = admin_client.post(f"{LIST_URL}{source.pk}/delete/", {"post": "yes"})
        assert response.status_code == 302
        assert not PullSource.objects.exists()
        assert not PeriodicTask.objects.filter(name__startswith="pull-source-").exists()

    def test_viewer_and_analyst_cannot_see_pull_sources(self, make_user, feed):
        for role in ("viewer", "analyst", "compliance"):
            user = make_user(role, f"{role}-1")
            user.is_staff = True
            user.save()
            client = Client()
            client.force_login(user)
            assert client.get(LIST_URL).status_code == 403, role


@pytest.mark.django_db(transaction=True)
def test_run_now_and_reset_breaker_actions(champion, admin_client, feed, celery_worker_if_queued):
    source = pull_source_save(
        source=PullSource(
            name="Bank feed",
            source="bank-feed",
            url=feed.url,
            auth_header_name="Authorization",
            auth_header_value=TOKEN,
            records_path="data.items",
            cursor_param="after",
            next_cursor_path="paging.next",
            cursor_field="external_id",
        ),
        actor="tests",
    )
    PullSource.objects.filter(pk=source.pk).update(consecutive_failures=5, backoff_until=timezone.now())

    response = admin_client.post(LIST_URL, {"action": "reset_breaker", "_selected_action": [source.pk]})
    assert response.status_code == 302
    source.refresh_from_db()
    assert (source.consecutive_failures, source.backoff_until) == (0, None)

    response = admin_client.post(LIST_URL, {"action": "run_now", "_selected_action": [source.pk]})
    assert response.status_code == 302
    deadline = time.monotonic() + 60
    while not PullRun.objects.filter(pull_source=source).exclude(status="running").exists():
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.2)
    run = PullRun.objects.get(pull_source=source)
    assert (run.status, run.accepted) == ("ok", 25)
    change_page = admin_client.get(f"{LIST_URL}{source.pk}/change/").content.decode()
    assert "bf-0025" in change_page  # the run inline shows the cursor
    assert AuditEvent.objects.filter(action="pull_source.run_requested", actor="user:ada").exists()
