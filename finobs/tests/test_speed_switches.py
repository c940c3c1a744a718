"""Speed devices turned off to measure them (FINOBS_NO_<DEVICE>=1, bench/ab.py): daphne serves an ingest and
its stream on the plain code in every device's place, and a switch that names no device stops the process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from conftest import child_database_env, run_daphne, suspicious_record, transaction_record

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def daphne_without_devices(transactional_db):
    yield from run_daphne({**child_database_env(), **{f"FINOBS_NO_{d}": "1" for d in settings.SPEED_DEVICES}})


@pytest.mark.server
def test_with_every_device_off_a_batch_is_ingested_and_streamed(champion, api_key, daphne_without_devices):
    headers = {"X-Webhook-Key": api_key[1]}
    records = [transaction_record(1), transaction_record(2), suspicious_record(3)]
    with httpx.Client(base_url=daphne_without_devices, headers=headers, timeout=60) as client:
        response = client.post("/api/v1/transactions/ingest", json=records)
        assert response.status_code == 200, response.text
        decisions = response.json()["decisions"]
        assert [d["external_id"] for d in decisions] == ["tx-1", "tx-2", "tx-3"]
        assert decisions[2]["flagged"] and decisions[2]["case_reference"]
        streamed = []
        with client.stream("GET", "/api/v1/stream/decisions", headers={"Last-Event-ID": "0"}) as stream:
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    streamed.append(json.loads(line.removeprefix("data: ")))
                if len(streamed) == len(records):
                    break
    assert [event["external_id"] for event in streamed] == ["tx-1", "tx-2", "tx-3"]
    assert streamed[2]["case_reference"] == decisions[2]["case_reference"]


def test_a_switch_that_names_no_device_stops_the_process():
    started = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "finobs.settings", "FINOBS_NO_SPEED": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode != 0
    assert "Not speed devices: SPEED" in started.stderr
