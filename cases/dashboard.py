"""The dashboard's figures: flagged volume, open cases by status and severity, SLA breaches, alert
rate, portfolio risk, drift status, the alert budget, the A/B experiment's comparison and the model
leaderboard. Case figures are scoped to what the user may see, and so is portfolio risk (the
transactions the user may see)."""

from datetime import timedelta

from django.core.cache import cache
from django.db.models import Count, Q
from django.db.models.functions import TruncDay
from django.utils import timezone

from audit.models import AuditEvent
from cases.models import Case, Severity
from cases.selectors import transactions_visible_to
from organisations.context import require_organisation_id
from scoring.models import Decision, Experiment, ModelVersion, Transaction
from scoring.selectors import PORTFOLIO_GROUPS, calibration_summary, drift_summary, portfolio_risk
from scoring.services.experiments import experiment_results

VOLUME_DAYS = 14
LEADERBOARD_SIZE = 10
# Decision volume is the same for everyone in an organisation and costs a scan of two weeks of its
# decisions: share it briefly, per organisation.
GLOBAL_CACHE_S = 30


def dashboard_data(user) -> dict:
    now = timezone.now()
    key = f"cases.dashboard.organisation.{require_organisation_id()}"
    figures = cache.get_or_set(key, lambda: _global_figures(now), GLOBAL_CACHE_S)
    visible_open = Case.objects.visible_to(user).open()
    grid = {
        (row["status"], row["severity"]): row["n"]
        for row in visible_open.order_by().values("status", "severity").annotate(n=Count("*"))
    }
    statuses = [s for s in Case.Status.values if s != Case.Status.CLOSED]
    by_status = {s: sum(grid.get((s, sev), 0) for sev in Severity.values) for s in statuses}
    by_severity = {sev: sum(grid.get((s, sev), 0) for s in statuses) for sev in Severity.values}
    return {
        **figures,
        "open_by_status": by_status,
        "open_by_severity": by_severity,
        "open_total": sum(by_status.values()),
        "grid": [[grid.get((s, sev), 0) for sev in Severity.values] for s in statuses],
        "grid_rows": [(Case.Status(s).label, [grid.get((s, sev), 0) for sev in Severity.values]) for s in statuses],
        "statuses": statuses,
        "severities": Severity.values,
        "sla_breached": visible_open.filter(sla_due_at__lt=now).count(),
        "support_visits": support_visits(user),
        "open_proposals": proposals_by_kind(user),
    }


PORTFOLIO_WINDOWS_DAYS = (1, 7, 30)
PORTFOLIO_TOP = 5


def portfolio_card(user, *, days: int = 7, group_by: str = "account") -> dict:
    """Portfolio risk of the transactions `user` may see over the last `days` (one of PORTFOLIO_WINDOWS_DAYS),
    ranked by `group_by` (a key of PORTFOLIO_GROUPS); anything else falls back to 7 days by account."""
    days = days if days in PORTFOLIO_WINDOWS_DAYS else 7
    group_by = group_by if group_by in PORTFOLIO_GROUPS else "account"
    now = timezone.now()

    def figures():
        return portfolio_risk(
            since=now - timedelta(days=days), until=now, group_by=group_by, transactions=scope, top=PORTFOLIO_TOP
        )

    if user.has_perm("cases.view_all_cases"):
        # The same for everyone who sees every case: shared briefly, as the decision volume is.
        scope = None
        key = f"cases.dashboard.portfolio.{require_organisation_id()}.{days}.{group_by}"
        risk = cache.get_or_set(key, figures, GLOBAL_CACHE_S)
    else:
        scope = transactions_visible_to(user, Transaction.objects.all())
        risk = figures()
    return {
        "risk": risk,
        "days": days,
        "group_by": group_by,
        "windows": PORTFOLIO_WINDOWS_DAYS,
        "groupings": list(PORTFOLIO_GROUPS),
        "peak": max((point.transactions for point in risk.trend), default=0),
    }


SUPPORT_VISITS_SHOWN = 5


def support_visits(user) -> list[dict]:
    """The organisation's latest visits by platform staff (who, when, why), for those who manage its people."""
    if not user.has_perm("auth.change_user"):
        return []
    events = AuditEvent.objects.filter(action="support.entered").order_by("-id")[:SUPPORT_VISITS_SHOWN]
    return [
        {"actor": e.actor.removeprefix("user:"), "at": e.created_at, "reason": e.payload.get("reason", "")}
        for e in events
    ]


def _global_figures(now) -> dict:
    since = now - timedelta(days=VOLUME_DAYS)
    volume_rows = (
        Decision.objects.filter(created_at__gte=since)
        .annotate(day=TruncDay("created_at"))
        .values("day")
        .annotate(total=Count("pk"), flagged=Count("pk", filter=Q(flagged=True)))
        .order_by("day")
    )
    volume = [
        {"day": row["day"].date().isoformat(), "total": row["total"], "flagged": row["flagged"]} for row in volume_rows
    ]
    last_day = Decision.objects.filter(created_at__gte=now - timedelta(days=1)).aggregate(
        total=Count("pk"), flagged=Count("pk", filter=Q(flagged=True))
    )
    return {
        "volume": volume,
        "last_day": {
            **last_day,
            "alert_rate": round(last_day["flagged"] / last_day["total"], 4) if last_day["total"] else None,
        },
        "leaderboard": leaderboard(),
        "drift": drift_summary(),
        "calibration": calibration_summary(),
        "experiment": experiment_comparison(),
    }


def experiment_comparison() -> dict | None:
    """The running A/B experiment (else the last one) and how its arms compare so far."""
    experiment = Experiment.objects.select_related("champion", "challenger").order_by("-is_active", "-started_at")
    experiment = experiment.defer(*ModelVersion.heavy_fields("champion"), *ModelVersion.heavy_fields("challenger"))
    experiment = experiment.first()
    if experiment is None:
        return None
    return {
        "name": experiment.name,
        "is_active": experiment.is_active,
        "champion": experiment.champion.version,
        "challenger": experiment.challenger.version,
        "challenger_percent": round(experiment.challenger_share * 100),
        "started_at": experiment.started_at,
        "ended_at": experiment.ended_at,
        **experiment_results(experiment=experiment),
    }


def leaderboard() -> list[dict]:
    """Model versions with their held-out metrics (as training recorded them), champion first."""
    rows = []
    versions = ModelVersion.objects.only(
        "version", "status", "algorithm", "training_size", "metrics", "created_at", "promoted_at"
    )[:LEADERBOARD_SIZE]
    for mv in versions:
        holdout = (mv.metrics or {}).get("holdout", {})
        rows.append(
            {
                "version": mv.version,
                "status": mv.status,
                "algorithm": mv.algorithm,
                "training_size": mv.training_size,
                "created_at": mv.created_at,
                "precision": holdout.get("precision"),
                "recall": holdout.get("recall"),
                "f1": holdout.get("f1"),
                "average_precision": holdout.get("pr_auc"),  # training stores it as pr_auc
                "alert_rate": holdout.get("alert_rate"),
            }
        )
    rows.sort(key=lambda r: (r["status"] != ModelVersion.Status.CHAMPION, -(r["f1"] or 0), -r["version"]))
    return rows


def proposals_by_kind(user) -> dict:
    """The agent's open proposals `user` may decide, by kind (the dashboard links them to /recommendations/)."""
    from cases.selectors import proposals_to_decide

    counts = dict(proposals_to_decide(user).order_by().values_list("action_kind").annotate(n=Count("id")))
    return {"total": sum(counts.values()), "by_kind": counts}
