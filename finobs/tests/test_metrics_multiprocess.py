"""Multiprocess metrics: what several processes count, in PROMETHEUS_MULTIPROC_DIR, one scrape sums."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from finobs.tests.scraping import scrape, value

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.django_db, pytest.mark.slow]

# A process of its own (prometheus_client picks its mode when first imported): `requests` requests to
# a view and one to no route, two scored batches, `requests` events published after two minutes.
PROCESS = """
import sys
from datetime import timedelta

import django

django.setup()
from django.test import Client

from delivery.metrics import observe_outbox_lag
from scoring.metrics import observe_batch_scored

requests = int(sys.argv[1])
client = Client()
for _ in range(requests):
    assert client.get("/health/live").status_code == 200
assert client.get("/no/such/page").status_code == 404
observe_batch_scored(items=1, seconds=0.02)
observe_batch_scored(items=500, seconds=0.3)
observe_outbox_lag([timedelta(minutes=2)] * requests)
"""


def run_processes(directory: Path, requests: list[int]) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    env |= {
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "DJANGO_SETTINGS_MODULE": "finobs.settings",
        # Their own var/ and database, which they do not need: nothing of the test's or the developer's.
        "FINOBS_VAR_DIR": str(directory.parent / "var"),
        "SQLITE_PATH": str(directory.parent / "unused.sqlite3"),
    }
    processes = [
        subprocess.Popen([sys.executable, "-c", PROCESS, str(n)], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
        for n in requests
    ]
    for process in processes:
        _out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err


def test_a_scrape_sums_every_process_counters_and_histograms(tmp_path, settings):
    directory = tmp_path / "metrics"
    directory.mkdir()
    run_processes(directory, [3, 5])
    assert len({path.stem.rsplit("_", 1)[1] for path in directory.glob("*.db")}) == 2  # files named by process id

    settings.PROMETHEUS_MULTIPROC_DIR = str(directory)  # this process serves the scrape
    samples = scrape()

    live = {"view": "health-live", "method": "GET"}
    assert value(samples, "finobs_http_requests_total", status="200", **live) == 8
    assert value(samples, "finobs_http_requests_total", view="unmatched", method="GET", status="404") == 2
    assert value(samples, "finobs_http_request_duration_seconds_count", **live) == 8
    assert value(samples, "finobs_http_request_duration_seconds_bucket", le="+Inf", **live) == 8
    assert value(samples, "finobs_http_request_duration_seconds_sum", **live) > 0

    batch = "finobs_scoring_batch_duration_seconds"
    assert value(samples, f"{batch}_count", size="1") == 2
    assert value(samples, f"{batch}_sum", size="1") == pytest.approx(0.04)
    assert value(samples, f"{batch}_bucket", size="1", le="0.01") == 0
    assert value(samples, f"{batch}_bucket", size="1", le="0.025") == 2  # buckets are cumulative, summed
    assert value(samples, f"{batch}_bucket", size="101-1000", le="0.25") == 0
    assert value(samples, f"{batch}_bucket", size="101-1000", le="0.5") == 2
    assert value(samples, f"{batch}_sum", size="101-1000") == pytest.approx(0.6)
    assert value(samples, "finobs_scoring_transactions_total") == 2 * 501

    lag = "finobs_outbox_publish_lag_seconds"
    assert value(samples, f"{lag}_count") == 8
    assert value(samples, f"{lag}_bucket", le="60.0") == 0
    assert value(samples, f"{lag}_bucket", le="300.0") == 8
    assert value(samples, f"{lag}_sum") == 8 * 120

    # The database's gauges as always; no CPU or memory figures, which would be one process' only.
    assert ("finobs_outbox_unpublished_events", ()) in samples
    assert not any(name.startswith("process_") for name, _labels in samples)
