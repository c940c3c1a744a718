"""Audit trail and transaction exports, large ones as a job with progress; who may export, and the second
factor an export needs."""

import base64
import csv
import hashlib
import io
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from apikeys.services import api_key_create
from audit.models import AuditEvent
from audit.services import AuditEntry, audit_log_many
from conftest import default_organisation, wait_until
from evidence.keys import signing_key
from evidence.models import ExportRecord
from evidence.tests.conftest import jsonl, members, rewrite_bundle
from evidence.verifier import canonical_json

pytestmark = pytest.mark.django_db


def post(client, url, body, **extra):
    return client.post(url, body, content_type="application/json", **extra)


def fetch(client, record: dict, path):
    path.write_bytes(b"".join(client.get(record["download_url"]).streaming_content))
    return path


def a_range():
    now = timezone.now()
    return {"from": (now - timedelta(hours=1)).isoformat(), "to": (now + timedelta(hours=1)).isoformat()}


def test_an_audit_trail_export_is_a_verifiable_segment_of_the_chain(client, personas, export_paths, capsys):
    audit_log_many([AuditEntry(actor="system", action="test.event", payload={"n": i}) for i in range(30)])
    client.force_login(personas["carol"])
    response = post(client, "/api/v1/exports/audit", a_range())
    assert response.status_code == 201, response.content
    path = fetch(client, response.json(), export_paths / "audit.zip")
    files = members(path)
    events = jsonl(files["audit_events.jsonl"])
    manifest = json.loads(files["manifest.json"])
    assert len(events) >= 30 and manifest["audit_segment"]["events"] == len(events)
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    call_command("verify_bundle", str(path))
    assert "VERIFIED: audit bundle" in capsys.readouterr().out

    # A segment with an event left out, re-signed by someone holding the key: the links give it away.
    kept = b"".join(line + b"\n" for i, line in enumerate(files["audit_events.jsonl"].splitlines()) if i != 5)
    listed = [
        {**f, "size": len(kept), "sha256": hashlib.sha256(kept).hexdigest()} if f["path"] == "audit_events.jsonl" else f
        for f in manifest["files"]
    ]
    forged_manifest = canonical_json({**manifest, "files": listed})
    forged = rewrite_bundle(
        path,
        export_paths / "forged.zip",
        change={
            "audit_events.jsonl": lambda d: kept,
            "manifest.json": lambda d: forged_manifest,
            "manifest.sig": lambda d: base64.b64encode(signing_key().sign(forged_manifest)) + b"\n",
        },
    )
    with pytest.raises(CommandError, match="chain is broken"):
        call_command("verify_bundle", str(forged))


@pytest.mark.django_db(transaction=True)
def test_a_large_export_runs_as_a_job_with_progress(client, personas, export_paths, settings, celery_worker_if_queued):
    """Through the broker and a real worker when Redis is configured; in-process after commit otherwise."""
    settings.EXPORT_INLINE_MAX_ROWS = 5
    audit_log_many([AuditEntry(actor="system", action="test.event", payload={"n": i}) for i in range(20)])
    client.force_login(personas["carol"])
    queued = post(client, "/api/v1/exports/audit", a_range())
    assert queued.status_code == 202 and queued.json()["status"] == "queued" and queued.json()["download_url"] is None
    status_url = queued.json()["status_url"]
    assert wait_until(lambda: client.get(status_url).json()["status"] == "done", timeout_s=60)
    done = client.get(status_url).json()
    assert done["percent"] == 100 and done["processed_items"] == done["total_items"] >= 20
    call_command("verify_bundle", str(fetch(client, done, export_paths / "job.zip")))


def test_an_unfinished_export_has_nothing_to_download(client, personas):
    carol = personas["carol"]
    record = ExportRecord.objects.create(kind="audit", subject="x", requested_by=carol, actor="user:carol")
    client.force_login(carol)
    assert client.get(f"/api/v1/exports/{record.pk}").json()["percent"] == 0
    not_ready = client.get(f"/api/v1/exports/{record.pk}/download")
    assert (not_ready.status_code, not_ready.json()["code"]) == (409, "export_not_ready")


def test_a_transaction_export_follows_its_filter(client, personas, open_case, export_paths):
    open_case("a-1", n=2)
    open_case("a-2", n=3)
    client.force_login(personas["carol"])
    response = post(client, "/api/v1/exports/transactions", {"account_id": "a-2", "flagged": True})
    assert response.status_code == 201
    files = members(fetch(client, response.json(), export_paths / "t.zip"))
    rows = list(csv.DictReader(io.StringIO(files["transactions.csv"].decode())))
    assert [r["account_id"] for r in rows] == ["a-2"] * 3 and {r["flagged"] for r in rows} == {"true"}
    assert len(jsonl(files["decisions.jsonl"])) == 3
    assert json.loads(files["manifest.json"])["subject"]["account_id"] == "a-2"
    bad = post(client, "/api/v1/exports/transactions", {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"})
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid")


def test_only_people_with_the_export_permission_export(client, personas, open_case):
    case = open_case("a-1")
    client.force_login(personas["alice"])  # an analyst of the case's team: sees it, may not export it
    refused = post(client, f"/api/v1/cases/{case.reference}/export", {})
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert post(client, "/api/v1/exports/audit", a_range()).status_code == 403
    client.force_login(personas["carol"])
    assert post(client, "/api/v1/cases/CASE-NONE/export", {}).status_code == 404
    _key, raw = api_key_create(organisation=default_organisation(), name="k", source="acme", scopes=["read"])
    client.logout()
    by_key = post(client, "/api/v1/exports/audit", a_range(), HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert by_key.status_code == 403
    assert client.get("/api/v1/exports/keys", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    assert not ExportRecord.objects.exists()


def test_a_sar_package_needs_a_case_filed_as_sar(client, personas, open_case):
    case = open_case("a-1")
    client.force_login(personas["carol"])
    refused = post(client, f"/api/v1/cases/{case.reference}/export", {"sar": True})
    assert (refused.status_code, refused.json()["code"]) == (409, "not_sar_filed")


def test_people_see_their_own_exports_and_compliance_sees_all(client, personas, open_case, make_user):
    case = open_case("a-1")
    client.force_login(personas["carol"])
    record = post(client, f"/api/v1/cases/{case.reference}/export", {}).json()
    client.force_login(personas["alice"])
    assert client.get("/api/v1/exports/").json()["results"] == []
    assert client.get(record["status_url"]).status_code == 404
    assert client.get(record["download_url"]).status_code == 404
    client.force_login(personas["dave"])
    assert [r["id"] for r in client.get("/api/v1/exports/").json()["results"]] == [record["id"]]
    assert client.get(record["download_url"]).status_code == 200
    downloads = AuditEvent.objects.filter(action="export.downloaded", object_id=str(record["id"]))
    assert downloads.get().actor == "user:dave"


@pytest.mark.mfa
def test_an_export_needs_a_session_verified_with_the_second_factor(client, personas, open_case):
    case = open_case("a-1")
    carol = personas["carol"]
    device = TOTPDevice.objects.create(user=carol, name="app", confirmed=True)
    client.force_login(carol)
    refused = post(client, f"/api/v1/cases/{case.reference}/export", {})
    assert (refused.status_code, refused.json()["code"]) == (403, "second_factor_required")
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    assert post(client, f"/api/v1/cases/{case.reference}/export", {}).status_code == 201


def test_without_a_signing_key_exports_are_refused_and_pages_work(client, personas, open_case, settings, tmp_path):
    settings.DEBUG = False
    settings.EXPORT_SIGNING_KEY_PATH = str(tmp_path / "missing.pem")
    case = open_case("a-1")
    client.force_login(personas["carol"])
    refused = post(client, f"/api/v1/cases/{case.reference}/export", {})
    assert (refused.status_code, refused.json()["code"]) == (409, "exports_not_configured")
    assert client.get("/api/v1/exports/keys").json() == {"keys": []}
    assert client.get("/exports/").status_code == 200
    assert not ExportRecord.objects.exists()
