"""Prometheus metrics of delivery: how long outbox events wait before the relay publishes them.

Observed by the relay, in workers (and in the web process when tasks run in-process); finobs.metrics
sums them across processes in multiprocess mode.
"""

from collections.abc import Iterable
from datetime import timedelta

from django.db.models import DurationField, ExpressionWrapper, F
from django.db.models.functions import Now
from prometheus_client import Histogram

# From an on-commit relay (tens of milliseconds) to a backlog that waited out a Redis outage (an hour).
OUTBOX_LAG = Histogram(
    "finobs_outbox_publish_lag_seconds",
    "Time from an outbox event's creation to the relay pass that publishes it reading it.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)

# How long an event has waited, computed by the database as the relay reads it: on PostgreSQL, reading
# created_at instead (Django's loader for timestamptz is pure Python) tripled the time of a 5,000-event read.
WAITED = ExpressionWrapper(Now() - F("created_at"), output_field=DurationField())


def observe_outbox_lag(waited: Iterable[timedelta]) -> None:
    """One observation per published event (about a microsecond each; the relay takes 5,000 a pass)."""
    observe = OUTBOX_LAG.observe
    for each in waited:
        observe(each.total_seconds())
