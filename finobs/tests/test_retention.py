"""The daily prune: each rule takes what is past its retention and leaves the rest, in batches, across
organisations; audit events and cases are never touched."""

import hashlib
from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import audit_log
from delivery.models import Delivery, DeliveryAttempt, OutboxEvent
from delivery.services import callback_endpoint_create
from delivery.tests import callback_receiver
from finobs.retention import retention_prune
from finobs.tasks import retention_prune_task
from ingestion.models import PullRun, PullSource, UploadJob
from organisations.context import organisation_context

allow_private = callback_receiver.allow_private  # fixture
pytestmark = pytest.mark.django_db


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)


def test_delivered_callbacks_past_retention_go_with_their_attempts(allow_private, settings):
    settings.DELIVERY_RETENTION_DAYS = 30
    hooks, _ = callback_endpoint_create(name="hooks", url="http://127.0.0.1:9/h", event_types=["*"], actor="tests")
    events = OutboxEvent.objects.bulk_create(
        [OutboxEvent(event_type="case.opened", payload={"n": n}, published_at=timezone.now()) for n in range(4)]
    )
    kept_as = [
        (Delivery.Status.DELIVERED, days_ago(31)),  # goes
        (Delivery.Status.DELIVERED, days_ago(29)),  # within the retention
        (Delivery.Status.DEAD, None),  # the dead-letter queue stays
        (Delivery.Status.RETRYING, None),
    ]
    deliveries = Delivery.objects.bulk_create(
        [
            Delivery(
                endpoint=hooks, event=e, event_type=e.event_type, webhook_id=f"msg_{e.pk}", status=s, delivered_at=at
            )
            for e, (s, at) in zip(events, kept_as, strict=True)
        ]
    )
    DeliveryAttempt.objects.bulk_create([DeliveryAttempt(delivery=d, status_code=200) for d in deliveries])
    assert retention_prune()["deliveries"] == 1
    assert not Delivery.objects.filter(pk=deliveries[0].pk).exists()
    assert not DeliveryAttempt.objects.filter(delivery_id=deliveries[0].pk).exists()
    assert DeliveryAttempt.objects.count() == 3
    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["dead", "delivered", "retrying"]
    assert OutboxEvent.objects.count() == 4  # events are the outbox's own prune's


def test_only_old_skipped_pull_runs_go(settings):
    settings.PULL_RUN_SKIPPED_RETENTION_DAYS = 7
    source = PullSource.objects.create(name="feed", source="feed", url="https://feed.example/tx")
    runs = {
        (status, age): PullRun.objects.create(pull_source=source, started_at=days_ago(age), status=status)
        for status in (PullRun.Status.SKIPPED, PullRun.Status.OK, PullRun.Status.FAILED)
        for age in (8, 6)
    }
    assert retention_prune()["skipped_pull_runs"] == 1
    assert set(PullRun.objects.values_list("pk", flat=True)) == {
        run.pk for key, run in runs.items() if key != (PullRun.Status.SKIPPED, 8)
    }


def test_old_finished_uploads_lose_their_file_and_keep_hash_counts_and_errors(make_user, settings):
    settings.UPLOAD_CONTENT_RETENTION_DAYS = 30
    analyst = make_user("analyst")
    text = "external_id,account_id,amount,currency,timestamp\nx,a,1,EUR,2026-11-20T10:00:00Z\n"

    def job(status, finished_days_ago):
        return UploadJob.objects.create(
            uploaded_by=analyst, source="csv-upload", original_name="a.csv", content=text, size_bytes=len(text),
            sha256=hashlib.sha256(text.encode()).hexdigest(), total_rows=1, processed_rows=1, invalid=1, status=status,
            errors=[{"row": 1, "field": "amount", "message": "bad"}],
            finished_at=None if finished_days_ago is None else days_ago(finished_days_ago),
        )  # fmt: skip

    old_done, old_failed = job(UploadJob.Status.DONE, 31), job(UploadJob.Status.FAILED, 40)
    recent, running = job(UploadJob.Status.DONE, 29), job(UploadJob.Status.RUNNING, None)
    assert retention_prune()["upload_contents"] == 2
    assert retention_prune()["upload_contents"] == 0  # marked: not rewritten again
    for pruned in (old_done, old_failed):
        pruned.refresh_from_db()
        assert pruned.content == "" and pruned.is_content_pruned
        assert pruned.sha256 == hashlib.sha256(text.encode()).hexdigest() and pruned.invalid == 1 and pruned.errors
    for kept in (recent, running):
        kept.refresh_from_db()
        assert kept.content == text and not kept.is_content_pruned
    client = Client()
    client.force_login(analyst)
    page = client.get(f"/ingest/uploads/{old_done.pk}/").content.decode()
    assert 'data-testid="content-pruned"' in page and "row errors stay" in page


def test_expired_sessions_go():
    live, expired = SessionStore(), SessionStore()
    for store in (live, expired):
        store["x"] = 1
        store.create()
    Session.objects.filter(pk=expired.session_key).update(expire_date=days_ago(1))
    assert retention_prune()["sessions"] == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]


def test_old_sign_in_records_go(settings):
    settings.SIGN_IN_RECORD_RETENTION_DAYS = 90
    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        for age in (91, 1):
            extra = {"failures_since_start": 1} if model is AccessAttempt else {}
            record = model.objects.create(username=f"u{age}", ip_address="10.0.0.1", user_agent="t", **extra)
            model.objects.filter(pk=record.pk).update(attempt_time=days_ago(age))
    assert retention_prune()["sign_in_records"] == 3
    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        assert model.objects.count() == 1 and model.objects.get().attempt_time > days_ago(2)


def test_rules_work_in_batches_across_organisations(organisation, settings):
    settings.PRUNE_BATCH_ROWS = 2
    settings.PULL_RUN_SKIPPED_RETENTION_DAYS = 7
    with organisation_context(organisation):
        theirs = PullSource.objects.create(name="feed", source="feed", url="https://feed.example/tx")
        PullRun.objects.bulk_create(
            [PullRun(pull_source=theirs, started_at=days_ago(8), status=PullRun.Status.SKIPPED) for _ in range(5)]
        )
    ours = PullSource.objects.create(name="feed", source="feed", url="https://feed.example/tx")
    PullRun.objects.create(pull_source=ours, started_at=days_ago(8), status=PullRun.Status.SKIPPED)
    assert retention_prune_task.apply().get()["skipped_pull_runs"] == 6
    assert not PullRun.objects.for_all_organisations().exists()


def test_audit_events_are_never_pruned(settings):
    settings.DELIVERY_RETENTION_DAYS = settings.PULL_RUN_SKIPPED_RETENTION_DAYS = 0
    settings.UPLOAD_CONTENT_RETENTION_DAYS = settings.SIGN_IN_RECORD_RETENTION_DAYS = 0
    audit_log(actor="tests", action="test.kept", object_type="test", object_id="1")
    before = AuditEvent.objects.count()
    retention_prune()
    assert AuditEvent.objects.count() == before > 0
