"""The demo: a month of history made through the product's own services, consistent in time, every feature
with something to show, and re-runs that change nothing but the passwords and the API key."""

import io
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Max, Min
from django.test import Client
from django.utils import timezone

from apikeys.models import ApiKey
from approvals.models import ApprovalStatus
from audit.models import AuditEvent
from audit.services import audit_verify
from cases.models import AgentAction, Approval, Attachment, Case, CaseEvent, Investigation, Mention, Severity
from cases.services.attachments import attachment_open
from cases.tests.test_attachments import private_storage  # noqa: F401 (autouse: attachments in a temporary directory)
from delivery.models import Delivery
from evidence.models import ExportRecord
from evidence.services import export_file
from evidence.tests.conftest import export_paths  # noqa: F401 (autouse: a signing key and bundle directories)
from finobs.demo import DEMO_SOURCE
from finobs.demo.history import BATCH_HOURS, SEND_LAG_MINUTES
from finobs.demo.people import ORGANISATION_ROLES
from ingestion.models import PullRun, PullSource, UploadJob
from notifications.models import Notification
from organisations.context import organisation_context
from organisations.models import Organisation
from scoring.models import DriftReport, Experiment, Label, Transaction

# With the second factor the production default asks for (MFA_REQUIRED_FOR=staff): the demo's four-eyes
# decisions and exports are made in sessions verified with one, as they must be on a server.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.mfa]

# Small enough for the suite: eight days of 150 accounts' traffic (the default is 30 days of 150).
SMALL = {"accounts": 150, "days": 8}


def run_demo(**options) -> str:
    out = io.StringIO()
    call_command("demo", stdout=out, **SMALL, **options)
    return out.getvalue()


@pytest.fixture
def small_demo(settings, roles):
    settings.RETRAIN_MIN_ROWS = 300  # the small month is enough traffic to retrain on
    return run_demo()


def counts() -> dict:
    figures = {}
    for organisation in Organisation.objects.all():
        with organisation_context(organisation):
            figures[organisation.slug] = {
                "transactions": Transaction.objects.count(),
                "cases": Case.objects.count(),
                "closed": Case.objects.filter(status=Case.Status.CLOSED).count(),
                "events": sorted(CaseEvent.objects.values_list("kind", "case__reference", "created_at")),
                "drift": DriftReport.objects.count(),
                "deliveries": Delivery.objects.count(),
                "uploads": UploadJob.objects.count(),
                "pull_runs": PullRun.objects.count(),
                "attachments": Attachment.objects.count(),
                "investigations": sorted(Investigation.objects.values_list("case__reference", "status")),
                "proposals": sorted(AgentAction.objects.values_list("pk", "status")),
                "notifications": sorted(Notification.objects.values_list("pk", "read_at")),
                "exports": ExportRecord.objects.count(),
            }
    return figures


def test_a_month_worked_by_a_team_ends_now_and_reruns_change_nothing(small_demo, settings):
    now = timezone.now()
    northwind = Organisation.objects.get(slug="default")
    with organisation_context(northwind):
        traffic = Transaction.objects.filter(source=DEMO_SOURCE)
        span = traffic.aggregate(first=Min("occurred_at"), last=Max("occurred_at"), received=Max("received_at"))
        assert span["first"] >= now - timedelta(days=SMALL["days"] + 1)
        assert span["last"] > now - timedelta(hours=BATCH_HOURS + 1)
        assert span["received"] <= now
        lag = timedelta(hours=BATCH_HOURS, minutes=SEND_LAG_MINUTES + 1)
        assert all(timedelta(0) <= t.received_at - t.occurred_at <= lag for t in traffic)

        cases = list(Case.objects.prefetch_related("links__transaction"))
        # Each case opened when its first transaction came, and the openings spread over the month.
        for case in cases:
            first = min(link.transaction.received_at for link in case.links.all())
            assert abs(case.opened_at - first) < timedelta(seconds=5), case.reference
        assert len({case.opened_at.date() for case in cases}) >= 3
        statuses = {case.status for case in cases}
        assert Case.Status.CLOSED in statuses and statuses - {Case.Status.CLOSED, Case.Status.PENDING_APPROVAL}
        closed = [case for case in cases if case.status == Case.Status.CLOSED]
        assert len({case.outcome for case in closed}) >= 2 and all(case.rationale for case in closed)
        assert all(case.closed_at <= now for case in closed)
        # Closures are proposed by different analysts and approved by the compliance officer (four-eyes).
        approved = Approval.objects.filter(status=ApprovalStatus.APPROVED)
        assert approved.values("requested_by").distinct().count() >= 2
        assert set(approved.values_list("decided_by__username", flat=True)) == {"compliance"}
        assert Approval.objects.filter(status=ApprovalStatus.PENDING).exists()
        assert sum(1 for case in cases if case.is_open and case.sla_due_at < now) <= 1
        assert Mention.objects.filter(read_at__isnull=True).exists()
        # Outcomes taught the model: labels for the leaderboard's precision and recall.
        assert traffic.filter(label=Label.FRAUD).exists()
        for case in closed:
            expected = {"confirmed_fraud": Label.FRAUD, "sar_filed": Label.FRAUD, "false_positive": Label.LEGIT}
            if case.outcome in expected:
                assert {link.transaction.label for link in case.links.all()} <= {expected[case.outcome]}

        report = DriftReport.objects.latest("created_at")
        assert report.drifted_features and "channel_risk" in report.results
        assert DriftReport.objects.count() >= 2
        experiment = Experiment.objects.get(is_active=True)
        trees = [v.params["isolation_forest"]["n_estimators"] for v in (experiment.challenger, experiment.champion)]
        assert trees[0] != trees[1]
        assert Delivery.objects.filter(status=Delivery.Status.DELIVERED).exists()
        assert Delivery.objects.filter(status=Delivery.Status.DEAD).count() == 1
        source = PullSource.objects.get()
        assert not source.is_enabled and PullRun.objects.filter(pull_source=source, status=PullRun.Status.OK).exists()
        upload = UploadJob.objects.get()
        assert upload.status == UploadJob.Status.DONE and upload.invalid == 3 and len(upload.errors) == 3
        first_key = ApiKey.objects.get(source=DEMO_SOURCE, revoked_at__isnull=True)
        assert_case_work_extras(now)

    for organisation in Organisation.objects.all():
        assert audit_verify(organisation=organisation).ok, organisation.slug

    before = counts()
    second = run_demo()
    assert counts() == before
    with organisation_context(northwind):
        key = ApiKey.objects.get(source=DEMO_SOURCE, revoked_at__isnull=True)
        assert key.pk != first_key.pk
    assert key.prefix in second and "analyst " in second and "password" in second
    for organisation in Organisation.objects.all():
        assert audit_verify(organisation=organisation).ok, organisation.slug


def assert_case_work_extras(now) -> None:
    """Attachments, the agent's investigations, the bell and the exports have something to show."""
    # A statement PDF and an app screenshot (on a comment), sniffed, hashed, scanned and served verified.
    files = Attachment.objects.select_related("case")
    assert {f.sniffed_type for f in files} == {"application/pdf", "image/png"}
    assert files.filter(comment__isnull=False, sniffed_type="image/png").exists()
    assert all(f.scan_status == Attachment.ScanStatus.CLEAN and len(f.sha256) == 64 for f in files)
    compliance = get_user_model().objects.get(username="compliance")
    with attachment_open(attachment=files.first(), actor=compliance) as verified:
        assert verified.read(5) == (b"%PDF-" if files.first().sniffed_type == "application/pdf" else b"\x89PNG\r")
    assert AuditEvent.objects.filter(action="case.attachment_added").count() == files.count()

    # Finished investigations of severe open cases; one proposal accepted, one rejected with a reason, and the
    # rest wait in the analyst's recommendations queue.
    done = Investigation.objects.filter(status=Investigation.Status.DONE).select_related("case")
    assert done.exists() and all(i.case.severity in (Severity.HIGH, Severity.CRITICAL) for i in done)
    proposals = AgentAction.objects.filter(investigation__in=done)
    assert proposals.filter(status=ApprovalStatus.APPROVED).count() == 1
    rejected = proposals.get(status=ApprovalStatus.REJECTED)
    assert rejected.decision_note and rejected.decided_by.username == "compliance"
    pending = proposals.filter(status=ApprovalStatus.PENDING)
    assert pending.exists()
    client = Client()
    client.force_login(get_user_model().objects.get(username="analyst"))
    assert pending.first().case.reference in client.get("/recommendations/").content.decode()

    # Every role finds unread notifications in its bell, of the day before now, of several kinds.
    unread = Notification.objects.filter(read_at__isnull=True)
    for role in ORGANISATION_ROLES:
        assert unread.filter(user__username=role).exists(), role
    assert unread.filter(created_at__lt=now - timedelta(hours=24, minutes=30)).count() == 0
    assert {"mention", "assignment", "approval"} <= set(unread.values_list("kind", flat=True))
    assert Notification.objects.filter(kind="sla").exists()
    page = client.get("/cases/").content.decode()
    assert f'aria-label="Notifications: {unread.filter(user__username="analyst").count()} unread"' in page

    # Signed bundles: a closed case's, a SAR package when the month closed a case as SAR filed, the audit trail.
    exports = ExportRecord.objects.filter(status=ExportRecord.Status.DONE)
    kinds = set(exports.values_list("kind", flat=True))
    assert {ExportRecord.Kind.CASE, ExportRecord.Kind.AUDIT} <= kinds
    if Case.objects.filter(outcome=Case.Outcome.SAR_FILED, sar_draft__isnull=False).exists():
        assert ExportRecord.Kind.SAR in kinds
    for record in exports:
        assert export_file(record) is not None
        assert AuditEvent.objects.filter(action="export.completed", object_id=str(record.pk)).exists()
