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
        },
    }
