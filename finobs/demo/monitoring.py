"""Model monitoring in the month: a drift check every week once a week of decisions exists (what the scheduled
check does; past its threshold it starts retraining, as in production), and a challenger retrained on the bank's
traffic with fewer trees, in an A/B experiment against the champion."""

from datetime import timedelta
from functools import partial

from django.utils import timezone

from finobs.demo import Demo
from scoring.models import Decision, DriftReport, Experiment
from scoring.services.experiments import experiment_start
from scoring.services.monitoring import drift_check, model_retrain

# Each check compares a week of decisions with the training reference: a shorter window (the default, the last
# 500 decisions) is a day or so of traffic, whose time-of-day and weekend mix differs from any week's.
DRIFT_WINDOW_DAYS = 7
DRIFT_EVERY_DAYS = 7
CHALLENGER_DAYS_BEFORE_END = 10  # the experiment has run this long when the demo ends
CHALLENGER_TREES = 50  # the champion has 100
CHALLENGER_SHARE = 0.3


def drift_checks(demo: Demo) -> str | None:
    if not demo.is_showcase:
        return None
    if not demo.is_new:
        report = DriftReport.objects.order_by("-created_at").first()
        return report and _drift_line(report)
    day = demo.start + timedelta(days=DRIFT_WINDOW_DAYS + 1)
    while day < demo.end:
        demo.at(day, _drift_check)
        day += timedelta(days=DRIFT_EVERY_DAYS)
    demo.at(demo.end - timedelta(minutes=30), lambda: demo.write(_drift_line(_drift_check())))
    return None


def _drift_check() -> DriftReport:
    window = Decision.objects.filter(created_at__gte=timezone.now() - timedelta(days=DRIFT_WINDOW_DAYS)).count()
    return drift_check(actor="system:drift_check", window=max(window, 1))


def _drift_line(report: DriftReport) -> str:
    drifting = ", ".join(report.drifted_features) or "no feature"
    return f"  Drift: {DriftReport.objects.count()} reports over the month; the last one finds {drifting} drifting."


def challenger(demo: Demo) -> str | None:
    if not demo.is_showcase:
        return None
    if not demo.is_new:
        experiment = Experiment.objects.order_by("-started_at").first()
        return experiment and f"  Experiment: {experiment.name}."
    halfway = demo.start + (demo.end - demo.start) / 2  # a shorter demo month: the experiment runs half of it
    demo.at(max(demo.end - timedelta(days=CHALLENGER_DAYS_BEFORE_END), halfway), partial(_challenger, demo))
    return None


def _challenger(demo: Demo) -> None:
    """Compliance retrains with other parameters (labels from the month's closures measure it) and tries it on
    a share of live traffic."""
    officer = demo.user("compliance")
    candidate = model_retrain(
        actor=officer, reason=f"Try {CHALLENGER_TREES} trees on our own traffic", n_estimators=CHALLENGER_TREES
    )
    experiment = experiment_start(
        challenger=candidate,
        challenger_share=CHALLENGER_SHARE,
        name=f"v{candidate.version}: {CHALLENGER_TREES} trees on our traffic",
        actor=officer,
    )
    demo.write(f"  Experiment: {experiment.name}, {CHALLENGER_SHARE:.0%} of traffic.")
