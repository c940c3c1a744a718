"""Prometheus metrics of scoring: how long scoring a batch takes, by the batch's size, and how many were scored.

Observed wherever a batch is scored: the web process for API ingests, workers for pulls and uploads
(finobs.metrics sums them across processes in multiprocess mode).
"""

from prometheus_client import Counter, Histogram

# A single item and a 10,000-item batch differ by orders of magnitude: one distribution per size class.
SIZE_CLASSES = ((1, "1"), (100, "2-100"), (1000, "101-1000"))
LARGEST_SIZE_CLASS = "1001+"

BATCH_DURATION = Histogram(
    "finobs_scoring_batch_duration_seconds",
    "Time to score a batch (the accounts' history, features, the ensemble, rules), by the batch's size.",
    ["size"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
# With the histogram's sum: the mean time per transaction, and the scoring throughput.
TRANSACTIONS_SCORED = Counter("finobs_scoring_transactions_total", "Transactions scored.")


def size_class(items: int) -> str:
    for most, label in SIZE_CLASSES:
        if items <= most:
            return label
    return LARGEST_SIZE_CLASS


def observe_batch_scored(*, items: int, seconds: float) -> None:
    """Record one scored batch of `items` transactions that took `seconds`."""
    BATCH_DURATION.labels(size_class(items)).observe(seconds)
    TRANSACTIONS_SCORED.inc(items)
