"""Writing evidence bundles: a ZIP of members streamed in, each hashed as it is written, closed by a
canonical manifest signed with the export key (the format tools/verify_bundle.py checks; docs/exports.md).

Members are written in chunks straight into the archive, so a bundle of any size needs the memory of one
chunk, not of the bundle.
"""

import base64
import csv
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from django.utils import timezone

from evidence.keys import signing_key
from evidence.verifier import (
    FILE_ATTRIBUTES,
    FIXED_DATE_TIME,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    SIGNATURE,
    canonical_json,
    key_id_of,
    unsafe_path,
)

# Rows buffered before they go to the archive: big enough that zlib sees real chunks, small enough to be nothing.
FLUSH_BYTES = 256 * 1024
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class BundleResult:
    path: Path
    sha256: str
    size_bytes: int
    key_id: str
    manifest: dict


def neutralise_cell(value) -> str:
    """A CSV cell that a spreadsheet will show, never run: formula-like text gets a leading apostrophe.

    Numbers are written as they are (a refund's "-12.50" stays a number), since only text can carry a formula.
    """
    if value is None:
        return ""
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def json_value(value):
    """JSON for content members: decimals and times as strings, exactly as stored."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_line(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=json_value).encode()


class _Member:
    """One member being written: bytes go through the hash into the archive, buffered to FLUSH_BYTES."""

    def __init__(self, stream):
        self._stream = stream
        self._hash = hashlib.sha256()
        self._buffer = bytearray()
        self.size = 0

    def write(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) >= FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            self._hash.update(self._buffer)
            self._stream.write(self._buffer)
            self.size += len(self._buffer)
            self._buffer = bytearray()

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


class BundleWriter:
    """with BundleWriter(path) as bundle: bundle.add_json(...); ...; result = bundle.finish(kind=..., ...)

    The archive is written to a temporary name and renamed when signed, so a half-written bundle is never
    found at `path`; leaving the block without finish() removes it.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._partial = self.path.with_name(f".{self.path.name}.{os.getpid()}.part")
        self._zip = zipfile.ZipFile(self._partial, "w", compression=zipfile.ZIP_STORED)
        self._files: dict[str, dict] = {}
        self._result: BundleResult | None = None

    def __enter__(self) -> "BundleWriter":
        return self

    def __exit__(self, *exc_info) -> None:
        if self._result is None:
            self._zip.close()
            self._partial.unlink(missing_ok=True)

    def _open(self, name: str) -> _Member:
        if unsafe_path(name) or name in (MANIFEST, SIGNATURE) or name in self._files:
            raise ValueError(f"A bundle member cannot be named {name!r}.")
        return _Member(self._zip.open(_member_info(name), "w", force_zip64=True))

    def _close(self, name: str, member: _Member) -> None:
        member.flush()
        member._stream.close()
        self._files[name] = {"path": name, "sha256": member.sha256, "size": member.size}

    def add_bytes(self, name: str, data: bytes) -> None:
        member = self._open(name)
        member.write(data)
        self._close(name, member)

    def add_chunks(self, name: str, chunks: Iterable[bytes]) -> None:
        """A member streamed from `chunks` (a stored file), hashed as it is written."""
        member = self._open(name)
        try:
            for chunk in chunks:
                member.write(chunk)
        except BaseException:
            member._stream.close()  # the archive can then be closed and removed; the member is not recorded
            raise
        self._close(name, member)

    def has(self, name: str) -> bool:
        return name in self._files

    def add_json(self, name: str, value) -> None:
        """A JSON document (sorted keys, indented for a reader)."""
        text = json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, default=json_value)
        self.add_bytes(name, text.encode() + b"\n")

    def add_jsonl(self, name: str, rows: Iterable[dict]) -> int:
        """JSON Lines, one object per line, streamed; returns the number of lines."""
        member = self._open(name)
        count = 0
        for row in rows:
            member.write(json_line(row) + b"\n")
            count += 1
        self._close(name, member)
        return count

    def add_csv(self, name: str, header: list[str], rows: Iterable[Iterable]) -> int:
        """CSV (RFC 4180, UTF-8) with every cell neutralised, streamed; returns the number of data rows."""
        member = self._open(name)
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(header)
        count = 0
        for row in rows:
            writer.writerow([neutralise_cell(cell) for cell in row])
            count += 1
            if text.tell() >= FLUSH_BYTES:
                member.write(text.getvalue().encode())
                text.seek(0)
                text.truncate()
        member.write(text.getvalue().encode())
        self._close(name, member)
        return count

    def finish(
        self,
        *,
        kind: str,
        subject: dict,
        organisation: str,
        exporter: str,
        chain_head: dict | None,
        extra: dict | None = None,
    ) -> BundleResult:
        """Write the manifest and its signature, close the archive and move it into place."""
        key = signing_key()
        key_id = key_id_of(key.public_key())
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "kind": kind,
            "subject": subject,
            "organisation": organisation,
            "exporter": exporter,
            "exported_at": timezone.now().isoformat(),
            "audit_chain_head": chain_head,
            "signing_key_id": key_id,
            "files": sorted(self._files.values(), key=lambda f: f["path"]),
            **(extra or {}),
        }
        manifest_bytes = canonical_json(manifest)
        self._zip.writestr(_member_info(MANIFEST), manifest_bytes)
        self._zip.writestr(_member_info(SIGNATURE), base64.b64encode(key.sign(manifest_bytes)) + b"\n")
        self._zip.close()
        digest = hashlib.sha256()
        with self._partial.open("rb") as archive:
            while chunk := archive.read(1 << 20):
                digest.update(chunk)
        size = self._partial.stat().st_size
        os.replace(self._partial, self.path)
        self._result = BundleResult(self.path, digest.hexdigest(), size, key_id, manifest)
        return self._result


def _member_info(name: str) -> zipfile.ZipInfo:
    """Headers as the verifier requires them: stored (every content byte hashed), fixed date and attributes."""
    info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = FILE_ATTRIBUTES
    return info
