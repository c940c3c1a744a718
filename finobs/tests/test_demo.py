"""The demo: a month of history made through the product's own services, consistent in time, every feature
with something to show, and re-runs that change nothing but the passwords and the API key."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import Max, Min
from django.utils import timezone

from apikeys.models import ApiKey
from approvals.models import ApprovalStatus
from audit.services import audit_verify
from cases.models import Approval, Case, CaseEvent, Mention
from delivery.models import Delivery
from finobs.demo import DEMO_SOURCE
from finobs.demo.history import BATCH_HOURS, SEND_LAG_MINUTES
from ingestion.models import PullRun, PullSource, UploadJob
from organisations.context import organisation_context
from organisations.models import Organisation
from scoring.models import DriftReport, Experiment, Label, Transaction

pytestmark = pytest.mark.django_db(transaction=True)

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
