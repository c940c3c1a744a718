"""A pull source's auth header value at rest: encrypted in the database, still sent, never shown."""

import logging

import pytest
from django.db import connection
from django.test import Client

from audit.models import AuditEvent
from ingestion.models import PullRun, PullSource
from ingestion.services import pull_source_run
from ingestion.tests.feed_server import TOKEN, Feed
from ingestion.tests.test_pull_sources import make_source
from kernel.encryption import decrypt

pytestmark = pytest.mark.django_db


@pytest.fixture
def feed(settings):
    settings.PULL_ALLOW_PRIVATE = True
    with Feed() as feed:
        yield feed


def stored(source: PullSource) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT auth_header_value FROM ingestion_pullsource WHERE id = %s", [source.pk])
        return cursor.fetchone()[0]


def test_the_database_holds_the_value_encrypted_and_runs_still_send_it(champion, feed, caplog):
    caplog.set_level(logging.DEBUG)
    source = make_source(feed)
    raw = stored(source)
    assert TOKEN not in raw and "feed-s3cret-token" not in raw
    assert decrypt(raw) == TOKEN
    run = pull_source_run(source=source)
    assert run.status == PullRun.Status.OK and feed.requests[0]["auth"] == TOKEN
    payloads = " ".join(str(p) for p in AuditEvent.objects.values_list("payload", flat=True))
    assert "feed-s3cret-token" not in payloads and "feed-s3cret-token" not in caplog.text


def test_admin_shows_a_fingerprint_only(feed, make_user):
    user = make_user("org_admin", "ada")
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    source = make_source(feed)
    change = client.get(f"/admin/ingestion/pullsource/{source.pk}/change/").content.decode()
    listing = client.get("/admin/ingestion/pullsource/").content.decode()
    history = client.get(f"/admin/ingestion/pullsource/{source.pk}/history/").content.decode()
    assert f"…{TOKEN[-4:]}" in change and f"…{TOKEN[-4:]}" in listing
    for page in (change, listing, history):
        assert "feed-s3cret-token" not in page
