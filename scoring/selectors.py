"""Read queries other apps and views share (no writes here)."""

from django.conf import settings

from scoring.models import DriftReport, ModelVersion


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
