"""`GET /metrics`: Prometheus exposition of the platform's state and of what its processes did.

Gauges come from PostgreSQL (the truth shared by every web and worker process), read at scrape time,
so any process can answer a scrape and the figures agree; each is one indexed query. Counters and
histograms are counted where the work happens: HTTP requests (kernel.metrics), scoring
(scoring.metrics), the outbox relay's lag (delivery.metrics). With PROMETHEUS_MULTIPROC_DIR set, every
process writes them to files there and a scrape sums all of them, so any web process answers for every
web and worker process sharing the directory; without it, a process answers for itself alone (the
embedded default: one process that also runs the tasks).

Who may scrape: an API key with the `metrics` scope (Prometheus' `authorization: credentials`), or a
person who sees every case (compliance, admin) — the figures are global, so team-scoped analysts do
not get them.
"""

from collections.abc import Iterator
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Max, Min, Q
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from rest_framework.views import APIView

from audit.models import AuditEvent
from cases.models import AgentAction, Case, Investigation
from delivery.models import OutboxEvent
from kernel.api.permissions import ScopeOrPermission
from scoring.models import Decision, ModelVersion
from scoring.selectors import drift_reports

OPEN_STATUSES = [s for s in Case.Status.values if s != Case.Status.CLOSED]


def _gauge(name: str, documentation: str, value=None, labels: dict[str, list] | None = None) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=list(labels) if labels else None)
    if value is not None:
        family.add_metric([], value)
    return family


class PlatformStateCollector:
    """Outbox backlog, decisions and alerts in the last hour, open cases, SLA breaches, model and drift."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = timezone.now()
        yield from self._outbox(now)
        yield from self._decisions(now)
        yield from self._cases(now)
        yield from self._models()
        yield from self._investigations(now)
        last = AuditEvent.objects.aggregate(n=Max("id"))["n"] or 0
        yield _gauge("finobs_audit_chain_length", "Events in the hash-chained audit trail (highest id).", last)

    def _outbox(self, now) -> Iterator[GaugeMetricFamily]:
        pending = OutboxEvent.objects.filter(published_at__isnull=True).aggregate(
            n=Count("id"), oldest=Min("created_at")
        )
        yield _gauge(
            "finobs_outbox_unpublished_events", "Outbox events not yet published to the streams.", pending["n"]
        )
        age = (now - pending["oldest"]).total_seconds() if pending["oldest"] else 0.0
        yield _gauge("finobs_outbox_oldest_unpublished_age_seconds", "Age of the oldest unpublished outbox event.", age)

    def _decisions(self, now) -> Iterator[GaugeMetricFamily]:
        since = now - timedelta(hours=1)
        family = GaugeMetricFamily(
            "finobs_decisions_last_hour", "Decisions stored in the last hour, by flagged.", labels=["flagged"]
        )
        for flagged in (True, False):
            n = Decision.objects.filter(flagged=flagged, created_at__gte=since).count()
            family.add_metric(["true" if flagged else "false"], n)
        yield family

    def _cases(self, now) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "finobs_cases_open", "Open cases by status and severity.", labels=["status", "severity"]
        )
        rows = Case.objects.filter(status__in=OPEN_STATUSES).values("status", "severity").annotate(n=Count("id"))
        counts = {(r["status"], r["severity"]): r["n"] for r in rows}
        for status in OPEN_STATUSES:
            for severity in Case._meta.get_field("severity").choices:
                family.add_metric([status, severity[0]], counts.get((status, severity[0]), 0))
        yield family
        breached = Case.objects.filter(status__in=OPEN_STATUSES, sla_due_at__lt=now).count()
        yield _gauge("finobs_cases_sla_breached", "Open cases past their SLA.", breached)

    def _models(self) -> Iterator[GaugeMetricFamily]:
        champion = ModelVersion.objects.filter(status=ModelVersion.Status.CHAMPION).values_list("version", flat=True)
        yield _gauge("finobs_model_champion_version", "Version of the champion model (0: none).", champion.first() or 0)
        reports = drift_reports(limit=1)
        drifted = 1 if reports and reports[0].is_drifted else 0
        yield _gauge("finobs_drift_detected", "1 when the latest drift report found drift.", drifted)
        if reports:
            score = (reports[0].results or {}).get("score") or {}
            if score.get("psi") is not None:
                yield _gauge("finobs_drift_score_psi", "PSI of the score in the latest drift report.", score["psi"])

    def _investigations(self, now) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("finobs_investigations", "Investigations by status.", labels=["status"])
        counts = dict(Investigation.objects.order_by().values_list("status").annotate(n=Count("id")))
        for status in Investigation.Status.values:
            family.add_metric([status], counts.get(status, 0))
        yield family
        finished = dict(
            Investigation.objects.filter(finished_at__gte=now - timedelta(hours=1))
            .order_by()
            .values_list("status")
            .annotate(n=Count("id"))
        )
        total = sum(finished.values())
        yield _gauge(
            "finobs_investigation_failure_rate_last_hour",
            "Share of the investigations finished in the last hour that failed (0 when none finished).",
            finished.get(Investigation.Status.FAILED, 0) / total if total else 0.0,
        )
        proposals = GaugeMetricFamily(
            "finobs_agent_proposals",
            "The agent's proposals by status (proposed, accepted, applied, rejected, expired).",
            labels=["status"],
        )
        rows = (
            AgentAction.objects.order_by()
            .annotate(is_applied=Q(applied_at__isnull=False))
            .values_list("status", "is_applied")
            .annotate(n=Count("id"))
        )
        by_status = dict.fromkeys(("proposed", "accepted", "applied", "rejected", "expired"), 0)
        for status, is_applied, n in rows:
            by_status[AgentAction(status=status, applied_at=now if is_applied else None).proposal_status] += n
        for status, n in by_status.items():
            proposals.add_metric([status], n)
        yield proposals


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    if settings.PROMETHEUS_MULTIPROC_DIR:
        # Every process' counters and histograms, summed (those of processes that have exited too, so
        # totals never go back). No CPU, memory or garbage collector figures: they would be those of
        # whichever process answered the scrape.
        MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    else:
        registry.register(REGISTRY)  # this process' metrics, with its CPU, memory and garbage collector
    registry.register(PlatformStateCollector())
    return registry


class MetricsView(APIView):
    """Prometheus metrics (text exposition format 0.0.4)."""

    permission_classes = [ScopeOrPermission]
    required_scope = "metrics"
    required_perms = ("cases.view_all_cases",)

    @extend_schema(operation_id="metrics", responses={(200, "text/plain"): OpenApiTypes.STR}, tags=["operations"])
    def get(self, request):
        return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
