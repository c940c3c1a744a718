"""A deploy's SIGTERM to the web process in the middle of a large ingest, and to a worker in the middle of an
upload: the batch is stored wholly or not at all and its resend completes it without duplicates; the worker
finishes its task before it exits."""

import json
import os
import signal
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from conftest import child_database_env, default_organisation, transaction_record
from finobs.tests.processes import start_serve, start_worker, stop
from ingestion.models import UploadJob
from ingestion.services import upload_create
from scoring.models import Transaction

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.server, pytest.mark.django_db(transaction=True)]

ITEMS = 10_000
GRACE_S = 30  # what a supervisor allows before SIGKILL (docs/operations.md)


def server_env() -> dict:
    return {**child_database_env(), "REDIS_URL": settings.REDIS_URL}


def post_raw(base: str, key: str, body: bytes) -> tuple[int | None, dict | str]:
    """The ingest POST over a plain socket: (status, body), or (None, why) when the connection dropped."""
    address = urlsplit(base)
    request = (
        f"POST /api/v1/transactions/ingest HTTP/1.1\r\nHost: {address.netloc}\r\nContent-Type: application/json\r\n"
        f"X-Webhook-Key: {key}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    try:
        with socket.create_connection((address.hostname, address.port), timeout=120) as sock:
            sock.sendall(request)
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
    except OSError as exc:
        return None, repr(exc)
    if not received:
        return None, "closed without an answer"
    head, _, payload = received.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(payload or b"{}")


def stored() -> int:
    return Transaction.objects.filter(external_id__startswith="term-").count()


def test_sigterm_mid_ingest_stores_the_batch_wholly_or_not_and_its_resend_completes_it(champion, api_key):
    _, raw = api_key
    body = json.dumps([transaction_record(n, external_id=f"term-{n}") for n in range(ITEMS)]).encode()
    process, base = start_serve(server_env())
    answer: dict = {}
    try:
        sender = threading.Thread(target=lambda: answer.update(result=post_raw(base, raw, body)))
        sender.start()
        time.sleep(1.0)  # the body is in, the batch is being validated, scored and stored
        process.send_signal(signal.SIGTERM)
        signalled_at = time.monotonic()
        process.wait(timeout=GRACE_S)
        exited_s = time.monotonic() - signalled_at
        sender.join(timeout=60)
    finally:
        stop(process)
    status, reply = answer["result"]
    count = stored()
    print(f"\nSIGTERM mid-ingest: answer {status} ({str(reply)[:80]}), {count} stored, exited after {exited_s:.1f} s")
    assert count in (0, ITEMS), f"a half-stored batch: {count} of {ITEMS}"
    # The process drains: it answers the request in flight, then exits within the grace period.
    assert status == 200, reply
    assert reply["accepted"] == ITEMS and count == ITEMS
    assert exited_s < GRACE_S

    process, base = start_serve(server_env())  # the deploy's new process; a client that saw no answer resends
    try:
        status, reply = post_raw(base, raw, body)
    finally:
        stop(process)
    assert status == 200, reply
    assert reply["accepted"] == 0 and len(reply["duplicates"]) == ITEMS
    assert stored() == ITEMS


def test_sigterm_to_a_worker_mid_upload_finishes_the_upload_then_exits(champion, make_user):
    from finobs.celery import app

    app.control.purge()
    rows = 3_000
    lines = ["external_id,account_id,amount,currency,timestamp,merchant_id,merchant_category,country,channel"]
    lines += [f"w-{n},acc-{n % 97},{10 + n % 300}.50,EUR,2026-10-02T10:{n % 60:02d}:00Z,m-{n % 30},5411,DE,card_present"
              for n in range(rows)]  # fmt: skip
    worker = start_worker({**server_env(), "UPLOAD_CHUNK_ROWS": "100", "DEBUG": "1"})
    try:
        job = upload_create(
            organisation=default_organisation(), uploaded_by=make_user("analyst"), name="w.csv",
            data=("\n".join(lines) + "\n").encode(), source="csv-upload",
        )  # fmt: skip
        job_rows = UploadJob.objects.filter(pk=job.pk)
        deadline = time.monotonic() + 180
        while job_rows.get().processed_rows < 300:
            assert time.monotonic() < deadline, "the worker did not start the upload"
            time.sleep(0.1)
        at_signal = job_rows.get().processed_rows
        os.kill(worker.pid, signal.SIGTERM)  # the main process, as a supervisor stops it: a warm shutdown
        signalled_at = time.monotonic()
        worker.wait(timeout=180)
        exited_s = time.monotonic() - signalled_at
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
    job = job_rows.get()
    print(f"\nworker SIGTERMed at {at_signal}/{rows} rows; exited {exited_s:.1f} s later, job {job.status}")
    assert job.status == UploadJob.Status.DONE, (job.status, job.processed_rows)
    assert (job.accepted, job.duplicates) == (rows, 0)
    assert Transaction.objects.filter(source="csv-upload").count() == rows
