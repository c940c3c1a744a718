"""A case exported as a signed bundle: what it holds, who may export it, and that the verifiers (finobs' and the
standalone script) accept it and refuse it after any change."""

import base64
import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import AuditEvent
from cases.services import case_comment
from evidence.models import ExportRecord
from evidence.tests.conftest import jsonl, members, rewrite_bundle
from evidence.verifier import audit_event_hash, canonical_json

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tools" / "verify_bundle.py"


def export_case(client, reference, **body):
    return client.post(f"/api/v1/cases/{reference}/export", body, content_type="application/json")


def download(client, response, target: Path) -> Path:
    body = b"".join(client.get(response.json()["download_url"]).streaming_content)
    target.write_bytes(body)
    return target


@pytest.fixture
def bundle(client, personas, open_case, export_paths):
    case = open_case("a-1", n=3, rule_hits=[{"rule": "R1", "name": "=HYPERLINK(1)", "action": "flag"}])
    case_comment(case=case, body="@carol look at =cmd|' /C calc'!A0", author=personas["alice"])
    client.force_login(personas["carol"])
    response = export_case(client, case.reference)
    assert response.status_code == 201, response.content
    return case, response.json(), download(client, response, export_paths / "case.zip")


def test_a_case_bundle_holds_the_case_its_evidence_and_a_signed_canonical_manifest(bundle, keys_file):
    case, record, path = bundle
    files = members(path)
    assert set(files) == {
        "manifest.json",
        "manifest.sig",
        "case.json",
        "transactions.csv",
        "decisions.jsonl",
        "timeline.jsonl",
        "comments.jsonl",
        "approvals.jsonl",
        "attachments.jsonl",
        "investigations.jsonl",
        "audit_events.jsonl",
    }
    manifest = json.loads(files["manifest.json"])
    assert files["manifest.json"] == canonical_json(manifest)  # sorted, compact, no floats
    assert manifest["subject"] == {"case": case.reference} and manifest["exporter"] == "user:carol"
    assert manifest["signing_key_id"] == record["key_id"] and len(record["key_id"]) == 64
    head = AuditEvent.objects.filter(id__lte=manifest["audit_chain_head"]["id"]).order_by("-id").first()
    assert manifest["audit_chain_head"]["hash"] == head.hash
    assert {f["path"] for f in manifest["files"]} == set(files) - {"manifest.json", "manifest.sig"}
    assert json.loads(files["case.json"])["reference"] == case.reference
    rows = list(csv.DictReader(io.StringIO(files["transactions.csv"].decode())))
    assert len(rows) == 3 and rows[0]["account_id"] == "a-1" and rows[0]["amount"] == "9500.0000"
    decisions = jsonl(files["decisions.jsonl"])
    assert decisions[0]["rule_hits"][0]["rule"] == "R1" and "explanation" in decisions[0]
    assert "=cmd" in jsonl(files["comments.jsonl"])[0]["body"]  # JSON keeps text as written
    events = jsonl(files["audit_events.jsonl"])
    assert {e["action"] for e in events} >= {"case.opened"}
    assert all(audit_event_hash(e) == e["hash"] for e in events)
    assert ExportRecord.objects.get(pk=record["id"]).sha256 == record["sha256"]
    assert AuditEvent.objects.filter(action="export.completed", object_id=str(record["id"])).exists()


def test_formula_cells_in_the_csv_are_neutralised(client, personas, open_case, export_paths):
    case = open_case("a-1", n=1)
    txn = case.transactions.get()
    txn.merchant_id = '=HYPERLINK("http://x")'
    txn.channel = "@SUM(1)"
    txn.save()
    client.force_login(personas["carol"])
    path = download(client, export_case(client, case.reference), export_paths / "c.zip")
    row = next(csv.DictReader(io.StringIO(members(path)["transactions.csv"].decode())))
    assert row["merchant_id"] == '\'=HYPERLINK("http://x")' and row["channel"] == "'@SUM(1)"


def test_verify_bundle_accepts_the_bundle_and_refuses_any_change(bundle, tmp_path, capsys):
    _, _, path = bundle
    call_command("verify_bundle", str(path))
    assert "VERIFIED" in capsys.readouterr().out

    manifest = json.loads(members(path)["manifest.json"])
    tampered = {
        "a byte of a member": rewrite_bundle(
            path, tmp_path / "byte.zip", change={"transactions.csv": lambda d: d.replace(b"9500", b"9501", 1)}
        ),
        "a member removed": rewrite_bundle(path, tmp_path / "drop.zip", drop="comments.jsonl"),
        "a member added": rewrite_bundle(path, tmp_path / "add.zip", add={"note.txt": b"hi"}),
        "a path escaping": rewrite_bundle(path, tmp_path / "escape.zip", add={"../evil.txt": b"x"}),
        "the signature": rewrite_bundle(
            path, tmp_path / "sig.zip", change={"manifest.sig": lambda d: base64.b64encode(b"\0" * 64)}
        ),
        "the manifest re-hashed for a changed member": rewrite_bundle(
            path,
            tmp_path / "manifest.zip",
            change={
                "manifest.json": lambda d: canonical_json(
                    {**manifest, "files": [{**f, "size": f["size"] + 1} for f in manifest["files"]]}
                )
            },
        ),
    }
    for what, bad in tampered.items():
        with pytest.raises(CommandError, match="FAILED"):
            call_command("verify_bundle", str(bad))
            pytest.fail(f"{what} went unnoticed")


def test_every_one_byte_change_of_the_file_is_refused(bundle, keys_file, tmp_path):
    from evidence.keys import trusted_keys
    from evidence.verifier import verify_bundle

    _, _, path = bundle
    original = path.read_bytes()
    trusted = trusted_keys()
    assert verify_bundle(path, trusted).ok
    target = tmp_path / "flipped.zip"
    accepted = []
    for offset in range(len(original)):
        changed = bytearray(original)
        changed[offset] ^= 0x01
        target.write_bytes(bytes(changed))
        if verify_bundle(target, trusted).ok:
            accepted.append(offset)
    assert accepted == [], (len(original), accepted)


def test_the_standalone_script_verifies_without_finobs(bundle, keys_file, tmp_path):
    """Run in isolated mode (-I: no PYTHONPATH, no user site, not the current directory) from an empty
    directory, with a sys.path check that nothing of finobs is importable."""
    _, _, path = bundle
    keys = keys_file()
    probe = "import importlib.util as u, sys; sys.exit(1 if u.find_spec('evidence') or u.find_spec('finobs') else 0)"
    assert subprocess.run([sys.executable, "-I", "-c", probe], cwd=tmp_path).returncode == 0

    def run(bundle_path):
        return subprocess.run(
            [sys.executable, "-I", str(SCRIPT), str(bundle_path), "--key", str(keys)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

    good = run(path)
    assert good.returncode == 0 and good.stdout.startswith("VERIFIED"), good.stdout + good.stderr
    bad = run(rewrite_bundle(path, tmp_path / "bad.zip", change={"case.json": lambda d: d.replace(b"a-1", b"a-2")}))
    assert bad.returncode == 1 and "case.json" in bad.stdout


def test_a_bundle_signed_before_a_rotation_still_verifies(bundle, client, tmp_path):
    _, record, path = bundle
    call_command("rotate_export_key")
    listed = client.get("/api/v1/exports/keys").json()["keys"]
    assert [k["status"] for k in listed] == ["current", "retired"]
    assert listed[1]["key_id"] == record["key_id"] != listed[0]["key_id"]
    call_command("verify_bundle", str(path))  # the deployment trusts its retired keys too
    only_the_new_key = tmp_path / "new.pem"
    only_the_new_key.write_text(listed[0]["public_key"])
    with pytest.raises(CommandError, match="not among the trusted keys"):
        call_command("verify_bundle", str(path), "--key", str(only_the_new_key))
