"""Files on the month's cases: an analyst attaches the customer's account statement (a PDF) to a case and
posts a screenshot of the customer's banking app (a PNG) on another case's comment. Both are made here, small
and well-formed, so they pass the extension allow-list and the content sniffing like any upload, and are
hashed and scanned by the attachment service."""

import struct
import zlib
from datetime import timedelta
from functools import partial

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cases.models import Attachment, Case
from cases.services.attachments import attachment_add, attachments_add
from finobs.demo import Demo
from finobs.demo.casework import worker_of

ATTACH_HOURS_BEFORE_END = 6  # the files arrive on cases the team is working that afternoon
SCREENSHOT_NOTE = (
    "Screenshot the customer sent of their banking app: none of these payments are theirs, they say. "
    "Attached for the file."
)


def attachments(demo: Demo) -> str | None:
    if not demo.is_showcase:
        return None
    if not demo.is_new:
        return _attachments_line()
    demo.at(demo.end - timedelta(hours=ATTACH_HOURS_BEFORE_END), partial(_attach, demo))
    return None


def _attach(demo: Demo) -> None:
    """The two latest cases under investigation get the statement and the screenshot from whoever works them."""
    worked = Case.objects.filter(status=Case.Status.INVESTIGATING).order_by("-opened_at", "-id")[:2]
    for case, attach in zip(worked, (_statement, _screenshot), strict=False):
        attach(case, demo.user(worker_of(demo, case)))
    demo.write(_attachments_line())


def _statement(case: Case, worker) -> None:
    links = case.links.select_related("transaction").order_by("transaction__occurred_at")[:12]
    account = links[0].transaction.account_id if links else "unknown"
    lines = [f"Account statement, account {account}", f"Issued {timezone.now():%Y-%m-%d} for case {case.reference}", ""]
    lines += [
        f"{t.occurred_at:%Y-%m-%d %H:%M}  {t.merchant_id or t.merchant_category:<14} {t.country}  {t.amount:>10} "
        f"{t.currency}"
        for t in (link.transaction for link in links)
    ]
    upload = SimpleUploadedFile(f"statement-{account}.pdf", pdf(lines), content_type="application/pdf")
    attachment_add(case=case, upload=upload, actor=worker)


def _screenshot(case: Case, worker) -> None:
    upload = SimpleUploadedFile("banking-app-screenshot.png", png_screenshot(), content_type="image/png")
    attachments_add(case=case, files=[upload], actor=worker, body=SCREENSHOT_NOTE)


def _attachments_line() -> str:
    files = Attachment.objects.all()
    on_comments = files.filter(comment__isnull=False).count()
    return (
        f"  Attachments: {files.count()} files on {files.values('case').distinct().count()} cases "
        f"({on_comments} on a comment), hashed and scanned."
    )


def pdf(lines: list[str]) -> bytes:
    """A one-page PDF showing `lines` in a monospaced font: what a bank's statement export is, minus the logo."""
    text = "\n".join(f"({_pdf_escape(line)}) Tj T*" for line in lines)
    stream = f"BT /F1 9 Tf 12 TL 50 790 Td\n{text}\nET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _pdf_escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


# The screenshot: a phone-sized app screen, a header bar and a list of payments, in flat colours.
SCREEN_WIDTH, SCREEN_HEIGHT = 180, 320
HEADER = (24, 74, 140)
BACKGROUND = (244, 246, 249)
ROW = (255, 255, 255)
FLAGGED = (200, 40, 40)


def png_screenshot() -> bytes:
    rows = []
    for y in range(SCREEN_HEIGHT):
        row = bytearray([0])  # filter type: none
        for x in range(SCREEN_WIDTH):
            row += bytes(_pixel(x, y))
        rows.append(bytes(row))
    return png(SCREEN_WIDTH, SCREEN_HEIGHT, b"".join(rows))


def _pixel(x: int, y: int) -> tuple[int, int, int]:
    if y < 40:
        return HEADER
    item, within = divmod(y - 50, 44)
    if 0 <= item < 6 and within < 36 and 8 <= x < SCREEN_WIDTH - 8:
        if x < 14 and item in (1, 2, 4):
            return FLAGGED  # the payments the customer does not recognise
        return ROW
    return BACKGROUND


def png(width: int, height: int, scanlines: bytes) -> bytes:
    """An 8-bit RGB PNG of `scanlines` (each row a filter byte, then the pixels)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(scanlines, 9))
        + chunk(b"IEND", b"")
    )
