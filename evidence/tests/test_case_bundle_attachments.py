"""A case bundle carries the case's attachments, re-verified against their recorded SHA-256 as they are
written, and the agent's investigations with their proposals."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEvent
from cases.models import Attachment
from cases.services import investigation_request, investigation_run
from cases.services.attachments import attachment_add
from evidence.models import ExportRecord
from evidence.tests.conftest import jsonl, members
from evidence.tests.test_case_bundle import download, export_case

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n" * 40


@pytest.fixture
def private_storage(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "private"), "base_url": None},
        },
    }
    settings.ATTACHMENT_SCANNER = "none"
    return tmp_path / "private"


@pytest.fixture
def attached(personas, open_case, private_storage):
    case = open_case("a-1", n=2)
    upload = SimpleUploadedFile("statement.pdf", PDF, content_type="application/pdf")
    attachment = attachment_add(case=case, upload=upload, actor=personas["alice"])
    return case, attachment


def test_the_bundle_holds_each_attachment_by_its_hash_and_the_investigations(client, personas, attached, export_paths):
    case, attachment = attached
    investigation = investigation_request(case=case, actor=personas["carol"])
    investigation_run(investigation_id=investigation.pk)  # a no-op when it ran in-process
    client.force_login(personas["carol"])
    response = export_case(client, case.reference)
    assert response.status_code == 201, response.content
    files = members(download(client, response, export_paths / "case.zip"))
    member = f"attachments/{attachment.sha256}"
    assert hashlib.sha256(files[member]).hexdigest() == attachment.sha256 and files[member] == PDF
    (row,) = jsonl(files["attachments.jsonl"])
    assert row["member"] == member and row["name"] == "statement.pdf" and row["scan_status"] == "clean"
    (run,) = jsonl(files["investigations.jsonl"])
    assert run["id"] == investigation.pk and run["status"] == "done" and run["evidence"]
    assert all(set(action) >= {"kind", "status", "evidence_ids"} for action in run["actions"])


def test_an_attachment_altered_in_storage_fails_the_export_and_is_never_bundled(
    client, personas, attached, export_paths, private_storage
):
    case, attachment = attached
    (private_storage / attachment.key).write_bytes(PDF.replace(b"Catalog", b"Catalug"))
    client.force_login(personas["carol"])
    response = export_case(client, case.reference)
    record = ExportRecord.objects.get(subject=case.reference)
    assert record.status == ExportRecord.Status.FAILED and "AttachmentIntegrityError" in record.failure
    assert response.status_code != 201 or response.json()["status"] == "failed"
    assert AuditEvent.objects.filter(action="attachment.integrity_failed", object_id=case.reference).exists()
    assert not list(export_paths.rglob("*.zip"))


def test_files_waiting_for_their_scan_are_listed_without_their_bytes(client, personas, attached, export_paths):
    case, attachment = attached
    Attachment.objects.filter(pk=attachment.pk).update(scan_status=Attachment.ScanStatus.PENDING)
    client.force_login(personas["carol"])
    response = export_case(client, case.reference)
    files = members(download(client, response, export_paths / "case.zip"))
    (row,) = jsonl(files["attachments.jsonl"])
    assert row["member"] is None and not any(name.startswith("attachments/") for name in files)
