"""Read queries other apps and views share (no writes here)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Avg, Count, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from scoring.models import Decision, DriftReport, ModelVersion, RiskLevel, Transaction


def source_transaction(*, source: str, transaction_id: int | None = None, external_id: str | None = None):
    """The current organisation's transaction of `source` with this id or external id, with its decision and
    model version (without the model's artifacts); None when there is none."""
    if (transaction_id is None) == (external_id is None):
        raise ValueError("Name the transaction by exactly one of transaction_id and external_id.")
    transactions = (
        Transaction.objects.filter(source=source)
        .select_related("decision__model_version")
        .defer(*ModelVersion.heavy_fields("decision__model_version"))
    )
    if transaction_id is not None:
        return transactions.filter(pk=transaction_id).first()
    return transactions.filter(external_id=external_id).first()


def drift_reports(limit: int = 20) -> list[DriftReport]:
    """The latest drift reports, newest first, without loading model artifacts."""
    reports = DriftReport.objects.select_related("model_version").defer(*ModelVersion.heavy_fields("model_version"))
    return list(reports[:limit])


def drift_status(report: DriftReport | None) -> str:
    return "none" if report is None else ("drifted" if report.is_drifted else "stable")


def drift_summary(*, top: int = 5) -> dict:
    """The champion's drift state for a dashboard: status, when, and the features that moved most."""
    reports = drift_reports(limit=1)
    latest = reports[0] if reports else None
    if latest is None:
        return {"status": "none", "latest": None, "check_hours": settings.DRIFT_CHECK_HOURS}
    results = latest.results or {}
    features = sorted(
        ({"name": name, **values} for name, values in results.items() if name != "score"),
        key=lambda f: -(f.get("psi") or 0),
    )
    return {
        "status": drift_status(latest),
        "check_hours": settings.DRIFT_CHECK_HOURS,
        "latest": {
            "created_at": latest.created_at,
            "version": latest.model_version.version,
            "window_size": latest.window_size,
            "score": results.get("score"),
            "drifted_features": latest.drifted_features,
            "top_features": features[:top],
            "retraining_started": latest.retraining_started,
            "alert_rate": latest.alert_rate,
            "model_alert_rate": latest.model_alert_rate,
            "alert_budget": latest.alert_budget,
        },
    }


# What portfolio risk may group by, and the transaction field each group is.
PORTFOLIO_GROUPS = {
    "account": "transaction__account_id",
    "merchant": "transaction__merchant_id",
    "country": "transaction__country",
    "channel": "transaction__channel",
}
PORTFOLIO_HOURLY_UP_TO = timedelta(hours=48)  # a longer window's trend is by day


@dataclass(frozen=True)
class RiskGroup:
    key: str  # the account, merchant, country or channel ("" for transactions that name none)
    transactions: int
    flagged: int
    flagged_share: float | None
    mean_score: float | None
    max_score: float | None


@dataclass(frozen=True)
class RiskTrendPoint:
    start: datetime  # the hour or day (UTC) the point covers
    transactions: int
    flagged: int
    flagged_share: float | None


@dataclass(frozen=True)
class PortfolioRisk:
    since: datetime
    until: datetime
    group_by: str
    bucket: str  # "hour" or "day": the trend's step
    transactions: int
    flagged: int
    flagged_share: float | None
    mean_score: float | None
    risk_levels: dict[str, int]  # every level, 0 when none
    groups: list[RiskGroup]  # the `top` groups with the most flagged decisions, then the highest score
    top_accounts: list[RiskGroup]  # the same for accounts, whatever the grouping
    trend: list[RiskTrendPoint]  # oldest first; buckets without decisions are left out


def portfolio_risk(
    *,
    since: datetime,
    until: datetime | None = None,
    group_by: str = "account",
    source: str | None = None,
    transactions: QuerySet | None = None,
    top: int = 10,
) -> PortfolioRisk:
    """Risk of the current organisation's decisions taken in [since, until): totals, flagged share, risk levels,
    the riskiest groups by `group_by` (a key of PORTFOLIO_GROUPS), the riskiest accounts and the trend.

    `source` limits it to one source's transactions (an API key's), `transactions` to part of them (what a
    person may see). Four queries, whatever the window.
    """
    if group_by not in PORTFOLIO_GROUPS:
        raise ValueError(f"group_by is one of {', '.join(PORTFOLIO_GROUPS)}; got {group_by!r}.")
    until = until or timezone.now()
    decisions = Decision.objects.filter(created_at__gte=since, created_at__lt=until)
    if source is not None:
        decisions = decisions.filter(transaction__source=source)
    if transactions is not None:
        decisions = decisions.filter(transaction__in=transactions.values("pk"))
    decisions = decisions.order_by()
    counted = {"n": Count("pk"), "flagged_n": Count("pk", filter=Q(flagged=True))}
    by_level = {
        row["risk_level"]: row for row in decisions.values("risk_level").annotate(**counted, score_sum=Sum("score"))
    }
    total = sum(row["n"] for row in by_level.values())
    flagged = sum(row["flagged_n"] for row in by_level.values())
    score_sum = sum(row["score_sum"] or 0.0 for row in by_level.values())
    groups = _risk_groups(decisions, PORTFOLIO_GROUPS[group_by], top)
    accounts = groups if group_by == "account" else _risk_groups(decisions, PORTFOLIO_GROUPS["account"], top)
    bucket = "hour" if until - since <= PORTFOLIO_HOURLY_UP_TO else "day"
    truncate = TruncHour if bucket == "hour" else TruncDay
    trend_rows = decisions.annotate(start=truncate("created_at")).values("start").annotate(**counted).order_by("start")
    return PortfolioRisk(
        since=since,
        until=until,
        group_by=group_by,
        bucket=bucket,
        transactions=total,
        flagged=flagged,
        flagged_share=_share(flagged, total),
        mean_score=round(score_sum / total, 6) if total else None,
        risk_levels={level: by_level.get(level, {}).get("n", 0) for level in RiskLevel.values},
        groups=groups,
        top_accounts=accounts,
        trend=[
            RiskTrendPoint(
                start=row["start"],
                transactions=row["n"],
                flagged=row["flagged_n"],
                flagged_share=_share(row["flagged_n"], row["n"]),
            )
            for row in trend_rows
        ],
    )


def _risk_groups(decisions: QuerySet, field: str, top: int) -> list[RiskGroup]:
    rows = (
        decisions.values(field)
        .annotate(
            n=Count("pk"),
            flagged_n=Count("pk", filter=Q(flagged=True)),
            mean_score=Avg("score"),
            max_score=Max("score"),
        )
        .order_by("-flagged_n", "-max_score", field)[:top]
    )
    return [
        RiskGroup(
            key=row[field],
            transactions=row["n"],
            flagged=row["flagged_n"],
            flagged_share=_share(row["flagged_n"], row["n"]),
            mean_score=None if row["mean_score"] is None else round(row["mean_score"], 6),
            max_score=None if row["max_score"] is None else round(row["max_score"], 6),
        )
        for row in rows
    ]


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def calibration_summary(*, limit: int = 5) -> dict:
    """The alert budget on a dashboard: the budgets, the champion's thresholds in force, the latest
    recalibrations (applied, proposed for four-eyes, ...)."""
    from scoring.models import ModelVersion, ThresholdCalibration

    champion = (
        ModelVersion.objects.filter(status=ModelVersion.Status.CHAMPION)
        .only("id", "version", "thresholds", "live_thresholds", "calibrated_at")
        .first()
    )
    latest = list(
        ThresholdCalibration.objects.select_related("model_version")
        .only(
            "created_at", "status", "previous", "thresholds", "n_decisions", "observed_alert_rate",
            "expected_alert_rate", "alert_budget", "model_version__version",
        )
        .order_by("-created_at", "-id")[:limit]
    )  # fmt: skip
    return {
        "alert_budget": settings.ALERT_BUDGET,
        "rules_alert_budget": settings.RULES_ALERT_BUDGET,
        "champion": champion
        and {
            "version": champion.version,
            "high": (champion.thresholds_in_force or {}).get("high"),
            "training_high": (champion.thresholds or {}).get("high"),
            "calibrated_at": champion.calibrated_at,
        },
        "latest": [
            {
                "created_at": c.created_at,
                "version": c.model_version.version,
                "status": c.get_status_display(),
                "proposed": c.status == ThresholdCalibration.Status.PROPOSED,
                "previous_high": c.previous["high"],
                "high": c.thresholds["high"],
                "n_decisions": c.n_decisions,
                "observed_alert_rate": c.observed_alert_rate,
                "expected_alert_rate": c.expected_alert_rate,
            }
            for c in latest
        ],
    }
