"""Attachments: hashed while streaming, stored by content address, refused when wrong, scanned, downloaded
only from a visible case and only while the stored bytes still match their hash."""

import hashlib
import socketserver
import struct
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.models import AuditEvent
from cases.models import Attachment, CaseEvent, storage_key
from cases.scanning import ClamdClient, ScannerUnavailable
from cases.services.attachments import attachment_add, attachment_scan
from cases.tasks import attachment_scan_task, attachments_scan_sweep_task
from delivery.models import OutboxEvent

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n" * 40
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489") + b"\0" * 64
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


@pytest.fixture(autouse=True)
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


def upload(client, case, name="statement.pdf", content=PDF, content_type="application/pdf", **extra):
    file = SimpleUploadedFile(name, content, content_type=content_type)
    return client.post(f"/cases/{case.reference}/attachments/upload", {"file": file, **extra})


def test_an_upload_is_hashed_stored_by_its_hash_and_recorded_as_evidence(client, personas, open_case, private_storage):
    case = open_case("a-1")
    client.force_login(personas["alice"])
    response = upload(client, case)
    assert response.status_code == 302
    attachment = Attachment.objects.get(case=case)
    sha = hashlib.sha256(PDF).hexdigest()
    assert attachment.sha256 == sha
    assert attachment.key == f"attachments/{sha[:2]}/{sha}" == storage_key(sha)
    assert (private_storage / attachment.key).read_bytes() == PDF
    assert attachment.size_bytes == len(PDF)
    assert (attachment.original_name, attachment.declared_type, attachment.sniffed_type) == (
        "statement.pdf",
        "application/pdf",
        "application/pdf",
    )
    assert attachment.scan_status == Attachment.ScanStatus.CLEAN and attachment.scanner == "none"
    event = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.ATTACHED)
    assert event.data["sha256"] == sha and event.actor == "user:alice"
    assert AuditEvent.objects.filter(action="case.attachment_added", object_id=case.reference).exists()
    assert OutboxEvent.objects.filter(event_type="case.attachment_added").exists()
    fragment = client.get(f"/cases/{case.reference}/attachments/").content.decode()
    assert sha in fragment and "statement.pdf" in fragment


def test_the_same_bytes_are_stored_once_and_never_overwritten(client, personas, open_case, private_storage):
    first, second = open_case("a-1"), open_case("a-2")
    client.force_login(personas["alice"])
    upload(client, first)
    upload(client, second, name="copy.pdf")
    rows = list(Attachment.objects.order_by("id"))
    assert len(rows) == 2 and rows[0].key == rows[1].key
    assert [p.name for p in (private_storage / "attachments").rglob("*") if p.is_file()] == [rows[0].sha256]


def test_a_download_is_verified_served_as_an_attachment_and_audited(client, personas, open_case):
    case = open_case("a-1")
    client.force_login(personas["alice"])
    upload(client, case)
    attachment = Attachment.objects.get(case=case)
    client.force_login(personas["victor"])  # a viewer of team A may read the evidence
    response = client.get(f"/cases/{case.reference}/attachments/{attachment.pk}/download")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert (
        response["Content-Disposition"].startswith("attachment;") and "statement.pdf" in response["Content-Disposition"]
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Attachment-SHA256"] == attachment.sha256
    downloaded = AuditEvent.objects.get(action="attachment.downloaded")
    assert downloaded.payload["sha256"] == attachment.sha256 and downloaded.actor == "user:victor"


def test_altered_bytes_are_never_served(client, personas, open_case, private_storage):
    case = open_case("a-1")
    client.force_login(personas["alice"])
    upload(client, case)
    attachment = Attachment.objects.get(case=case)
    (private_storage / attachment.key).write_bytes(PDF.replace(b"Catalog", b"Catalug"))
    response = client.get(f"/cases/{case.reference}/attachments/{attachment.pk}/download", follow=True)
    assert response.redirect_chain and b"does not match the SHA-256" in response.content
    api = client.get(f"/api/v1/cases/{case.reference}/attachments/{attachment.pk}/download")
    assert api.status_code == 409 and api.json()["code"] == "attachment_integrity"
    assert AuditEvent.objects.filter(action="attachment.integrity_failed").count() == 2
    assert not AuditEvent.objects.filter(action="attachment.downloaded").exists()


def test_another_teams_attachment_is_not_found(client, personas, open_case):
    case = open_case("a-1")
    client.force_login(personas["alice"])
    upload(client, case)
    attachment = Attachment.objects.get(case=case)
    client.force_login(personas["bob"])
    assert client.get(f"/cases/{case.reference}/attachments/{attachment.pk}/download").status_code == 404
    assert client.get(f"/cases/{case.reference}/attachments/").status_code == 404
    assert client.get(f"/api/v1/cases/{case.reference}/attachments/{attachment.pk}/download").status_code == 404
    assert client.get(f"/api/v1/cases/{case.reference}/attachments/").status_code == 404
    assert upload(client, case).status_code == 404
    # and an attachment id of another case is not found through a case bob may see
    bobs = open_case("b-1")
    assert client.get(f"/cases/{bobs.reference}/attachments/{attachment.pk}/download").status_code == 404


def test_a_viewer_cannot_attach(client, personas, open_case):
    case = open_case("a-1")
    client.force_login(personas["victor"])
    assert upload(client, case).status_code == 403
    api = client.post(
        f"/api/v1/cases/{case.reference}/attachments/",
        {"file": SimpleUploadedFile("s.pdf", PDF, content_type="application/pdf")},
    )
    assert api.status_code == 403 and api.json()["code"]
    assert not Attachment.objects.exists()
    assert "Attach files" not in client.get(f"/cases/{case.reference}/attachments/").content.decode()


@pytest.mark.parametrize(
    ("name", "content", "content_type", "says"),
    [
        ("payload.exe", b"MZ" + b"\0" * 200, "application/octet-stream", "cannot be attached"),
        ("statement.pdf", PNG, "application/pdf", "its content is image/png"),
        ("photo.png", PNG, "application/pdf", "was sent as application/pdf"),
        ("empty.pdf", b"", "application/pdf", "empty"),
    ],
)
def test_wrong_files_are_refused_with_a_clear_message(client, personas, open_case, name, content, content_type, says):
    case = open_case("a-1")
    client.force_login(personas["alice"])
    response = client.post(
        f"/api/v1/cases/{case.reference}/attachments/",
        {"file": SimpleUploadedFile(name, content, content_type=content_type)},
    )
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) >= {"code", "message", "details"} and says in str(body)
    page = upload(client, case, name=name, content=content, content_type=content_type)
    assert page.status_code == 302
    assert says in client.get(f"/cases/{case.reference}/").content.decode().replace("&#x27;", "'")
    assert not Attachment.objects.exists() and not CaseEvent.objects.filter(kind="attached").exists()


def test_a_file_over_the_limit_is_stopped_while_it_streams(client, personas, open_case, settings, private_storage):
    settings.ATTACHMENT_MAX_BYTES = 1000
    case = open_case("a-1")
    client.force_login(personas["alice"])
    response = client.post(
        f"/api/v1/cases/{case.reference}/attachments/",
        {"file": SimpleUploadedFile("big.pdf", PDF * 10, content_type="application/pdf")},
    )
    assert response.status_code == 400 and "at most 1000 bytes" in str(response.json()["details"])
    assert not Attachment.objects.exists() and not private_storage.exists()


def test_files_posted_with_a_note_are_attached_to_its_comment_over_the_api(client, personas, open_case):
    case = open_case("a-1")
    client.force_login(personas["alice"])
    response = client.post(
        f"/api/v1/cases/{case.reference}/attachments/",
        {
            "file": [
                SimpleUploadedFile("statement.pdf", PDF, content_type="application/pdf"),
                SimpleUploadedFile("screen.png", PNG, content_type="image/png"),
            ],
            "body": "Bank statement and the customer's screenshot",
        },
    )
    assert response.status_code == 201, response.content
    rows = response.json()
    assert [r["original_name"] for r in rows] == ["statement.pdf", "screen.png"]
    assert rows[0]["sha256"] == hashlib.sha256(PDF).hexdigest()
    comment = case.comments.get()
    assert comment.body.startswith("Bank statement") and {a.comment_id for a in Attachment.objects.all()} == {
        comment.pk
    }
    listed = client.get(f"/api/v1/cases/{case.reference}/attachments/").json()
    assert len(listed) == 2
    download = client.get(listed[1]["download_url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == PNG


def test_a_closed_case_takes_no_attachment(personas, open_case):
    from cases.services import case_close

    case = open_case("a-1", risk_level="MEDIUM")
    case_close(case=case, outcome="no_action", rationale="Customer confirmed", actor=personas["alice"])
    from kernel.errors import Conflict

    with pytest.raises(Conflict):
        attachment_add(
            case=case,
            upload=SimpleUploadedFile("s.pdf", PDF, content_type="application/pdf"),
            actor=personas["alice"],
        )


# --- the clamd scanner, against a local server that speaks clamd's INSTREAM protocol ---------------


class FakeClamd(socketserver.BaseRequestHandler):
    """Reads `zINSTREAM\\0` and length-prefixed chunks up to a zero length; finds the EICAR test string."""

    def handle(self):
        command = b""
        while not command.endswith(b"\0"):
            command += self.request.recv(1)
        assert command == b"zINSTREAM\0"
        received = b""
        while True:
            (length,) = struct.unpack("!L", self._exactly(4))
            if length == 0:
                break
            received += self._exactly(length)
        self.server.streams.append(received)
        verdict = "Eicar-Test-Signature FOUND" if EICAR in received else "OK"
        self.request.sendall(f"stream: {verdict}\0".encode())

    def _exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            data += self.request.recv(n - len(data))
        return data


@pytest.fixture
def clamd(settings):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), FakeClamd)
    server.streams = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.ATTACHMENT_SCANNER = "clamd"
    settings.ATTACHMENT_CLAMD_ADDRESS = f"127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


def test_clamd_client_streams_in_chunks_and_reads_the_verdict(clamd):
    client = ClamdClient(f"127.0.0.1:{clamd.server_address[1]}", timeout_s=5)
    assert not client.instream([b"a" * 200_000, b"b"]).is_infected
    assert clamd.streams[-1] == b"a" * 200_000 + b"b"
    verdict = client.instream([b"prefix ", EICAR])
    assert verdict.is_infected and verdict.detail == "Eicar-Test-Signature"


def test_infected_files_are_marked_and_never_downloadable(client, personas, open_case, clamd):
    case = open_case("a-1")
    client.force_login(personas["alice"])
    upload(client, case, name="note.txt", content=EICAR + b"\n", content_type="text/plain")
    upload(client, case, name="statement.pdf")
    infected, clean = Attachment.objects.order_by("id")
    assert infected.scan_status == clean.scan_status == Attachment.ScanStatus.PENDING
    pending = client.get(f"/api/v1/cases/{case.reference}/attachments/{clean.pk}/download")
    assert pending.status_code == 409 and pending.json()["code"] == "attachment_pending"
    attachment_scan_task.apply(args=[infected.pk])
    attachment_scan_task.apply(args=[clean.pk])
    infected.refresh_from_db()
    clean.refresh_from_db()
    assert (infected.scan_status, infected.scan_detail) == ("infected", "Eicar-Test-Signature")
    assert clean.scan_status == "clean" and clean.scanner == "clamd"
    refused = client.get(f"/api/v1/cases/{case.reference}/attachments/{infected.pk}/download")
    assert refused.status_code == 409 and refused.json()["code"] == "attachment_infected"
    assert client.get(f"/api/v1/cases/{case.reference}/attachments/{clean.pk}/download").status_code == 200
    scanned = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.ATTACHMENT_SCANNED)
    assert sorted(e.data["scan_status"] for e in scanned) == ["clean", "infected"]


def test_an_unreachable_scanner_leaves_the_file_pending_for_a_retry(personas, open_case, settings):
    settings.ATTACHMENT_SCANNER = "clamd"
    settings.ATTACHMENT_CLAMD_ADDRESS = "127.0.0.1:1"
    case = open_case("a-1")
    attachment = attachment_add(
        case=case, upload=SimpleUploadedFile("s.pdf", PDF, content_type="application/pdf"), actor=personas["alice"]
    )
    with pytest.raises(ScannerUnavailable):
        attachment_scan(attachment_id=attachment.pk)
    attachment.refresh_from_db()
    assert attachment.scan_status == "pending" and attachment.scanned_at is None


def test_no_url_serves_the_stored_files(client, personas, open_case, private_storage):
    case = open_case("a-1")
    client.force_login(personas["alice"])
    upload(client, case)
    key = Attachment.objects.get().key
    assert (private_storage / key).exists()
    for url in (f"/{key}", f"/media/{key}", f"/static/{key}", f"/private/{key}"):
        assert client.get(url).status_code == 404


def test_the_sweep_finds_attachments_a_scanner_outage_left_pending(personas, open_case, settings, clamd):
    from datetime import timedelta

    from django.utils import timezone

    from cases.services.attachments import attachments_pending_scan

    case = open_case("a-1")
    attachment = attachment_add(
        case=case, upload=SimpleUploadedFile("s.pdf", PDF, content_type="application/pdf"), actor=personas["alice"]
    )
    assert attachments_pending_scan() == []  # just uploaded: its own task is still on it
    Attachment.objects.filter(pk=attachment.pk).update(uploaded_at=timezone.now() - timedelta(hours=1))
    assert attachments_pending_scan() == [attachment.pk]
    # The task as beat schedules it (with Redis configured, the scans it queues wait for a worker).
    assert settings.CELERY_BEAT_SCHEDULE["attachments-scan-sweep"]["task"] == attachments_scan_sweep_task.name
    assert attachments_scan_sweep_task.apply().get() == 1
    attachment_scan(attachment_id=attachment.pk)
    assert attachments_pending_scan() == []
    attachment.refresh_from_db()
    assert attachment.scan_status == "clean"
