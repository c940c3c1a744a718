#!/usr/bin/env python3
"""Verify a finobs evidence bundle offline, with nothing installed but Python and `cryptography`.

    python verify_bundle.py BUNDLE.zip --key finobs-export-keys.json

A bundle is a ZIP archive holding `manifest.json` (canonical JSON: sorted keys, no spaces, no floats),
`manifest.sig` (the Ed25519 signature over manifest.json's exact bytes, base64) and the members the
manifest lists, each with its SHA-256 and size. The bundle verifies when:

- the manifest is signed by a trusted key: one given with --key (a PEM public key, or the key list
  that finobs serves at GET /api/v1/exports/keys, saved as JSON), named in the manifest by its id, the
  SHA-256 of the raw 32-byte public key;
- every member the manifest lists is in the archive with that hash and size, and there is no member
  it does not list;
- no path is absolute, has a `..` part or a backslash, or appears twice;
- every audit event in `audit_events.jsonl` has the hash its content gives, and where the manifest
  declares an `audit_segment` (audit trail exports and archives), the events link one to the next from the
  segment's first previous hash to its last hash, none missing: the segment is a piece of the chain.

It prints VERIFIED or FAILED with every reason, and exits 0 or 1 (2 for unusable arguments).
This file is also the verifier finobs itself runs (`manage.py verify_bundle`), so both give one verdict.
"""

import argparse
import base64
import binascii
import hashlib
import json
import struct
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "finobs-evidence-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
AUDIT_EVENTS = "audit_events.jsonl"
CHUNK_BYTES = 1 << 20
# The layout finobs writes, which the verifier holds every header to, so that no byte of the file can change
# unnoticed: members stored (uncompressed: every content byte is hashed), dated 1980-01-01 00:00, made on a
# POSIX system (3), no attributes, no comments, and nothing between or after the records.
LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")
CENTRAL_LENGTHS = struct.Struct("<3H")  # name, extra and comment lengths, at offset 28 of a central entry
CENTRAL_ENTRY_SIZE = 46
END_RECORD = struct.Struct("<4s4H2LH")
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
POSIX = 3
FILE_ATTRIBUTES = 0o600 << 16  # a regular file the extracting user alone may read and write


@dataclass
class Verdict:
    ok: bool
    problems: list[str] = field(default_factory=list)
    manifest: dict | None = None
    key_id: str = ""

    def summary(self) -> str:
        if self.ok:
            manifest = self.manifest or {}
            files = len(manifest.get("files", []))
            return (
                f"VERIFIED: {manifest.get('kind')} bundle, {files} members, signed by key {self.key_id} "
                f"on {manifest.get('exported_at')} for {manifest.get('organisation')}."
            )
        return "FAILED:\n" + "\n".join(f"  - {problem}" for problem in self.problems)


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """A key's id: the SHA-256 (hex) of its raw 32 bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def canonical_json(value) -> bytes:
    """Sorted keys, no whitespace, UTF-8, and no floats (a float is refused rather than rounded)."""
    _refuse_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _refuse_floats(value) -> None:
    if isinstance(value, float):
        raise ValueError("canonical JSON holds no floats: write decimals as strings")
    if isinstance(value, dict):
        for item in value.values():
            _refuse_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_floats(item)


def load_trusted_keys(paths: list[Path]) -> dict[str, Ed25519PublicKey]:
    """Keys by id from PEM files or from finobs' JSON key list ({"keys": [{"public_key": <PEM>}, ...]})."""
    keys: dict[str, Ed25519PublicKey] = {}
    for path in paths:
        data = path.read_bytes()
        if data.lstrip().startswith(b"{"):
            pems = [entry["public_key"].encode() for entry in json.loads(data)["keys"]]
        else:
            pems = [data]
        for pem in pems:
            key = serialization.load_pem_public_key(pem)
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError(f"{path}: not an Ed25519 public key")
            keys[key_id_of(key)] = key
    return keys


def unsafe_path(name: str) -> str:
    """Why a member path is unsafe to extract, or "" when it is safe."""
    if not name or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "is absolute"
    if "\\" in name:
        return "holds a backslash"
    if ".." in PurePosixPath(name).parts:
        return "has a '..' part"
    return ""


def verify_bundle(path: Path, trusted: dict[str, Ed25519PublicKey]) -> Verdict:
    """Check the bundle at `path` against the `trusted` keys (by id); never raises on a bad bundle."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        return Verdict(False, [f"not a readable ZIP archive: {exc}"])
    with archive, open(path, "rb") as raw:
        try:
            layout = _layout_problems(archive, raw)
            if layout:
                return Verdict(False, layout)
            return _verify(archive, trusted)
        except Exception as exc:  # a damaged archive fails in many ways (zlib, struct, flags): each is a refusal
            return Verdict(False, [f"the archive is damaged: {type(exc).__name__}: {exc}"])


def _layout_problems(archive: zipfile.ZipFile, raw) -> list[str]:
    """Every header byte checked: local headers agree with the central directory, records follow each other
    with no gap, and the fields finobs fixes have their fixed values."""
    problems = []
    position = 0
    infos = archive.infolist()
    for info in infos:
        name = info.filename
        if info.header_offset != position:
            problems.append(f"member {name!r} does not start where the one before it ends")
            break
        raw.seek(position)
        header = raw.read(LOCAL_HEADER.size)
        if len(header) != LOCAL_HEADER.size:
            return [*problems, f"member {name!r} has a truncated header"]
        (
            magic,
            extract_version,
            extract_system,
            flags,
            method,
            time,
            date,
            crc,
            compressed,
            size,
            name_length,
            extra_length,
        ) = LOCAL_HEADER.unpack(header)
        local_name = raw.read(name_length)
        local_extra = raw.read(extra_length)
        if (compressed, size) == (0xFFFFFFFF, 0xFFFFFFFF) and local_extra[:4] == struct.pack("<HH", 1, 16):
            compressed, size = struct.unpack("<QQ", local_extra[4:20])[::-1]
            local_extra = local_extra[20:]
        dos_date = (info.date_time[0] - 1980) << 9 | info.date_time[1] << 5 | info.date_time[2]
        dos_time = info.date_time[3] << 11 | info.date_time[4] << 5 | (info.date_time[5] // 2)
        expected = (b"PK\x03\x04", info.extract_version, 0, info.flag_bits, zipfile.ZIP_STORED, dos_time, dos_date)
        if (magic, extract_version, extract_system, flags, method, time, date) != expected or local_extra:
            problems.append(f"member {name!r}: its local header differs from the central directory")
        if (crc, compressed, size) != (info.CRC, info.compress_size, info.file_size) or compressed != size:
            problems.append(f"member {name!r}: its local header's sizes or CRC differ from the central directory")
        if local_name != info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437"):
            problems.append(f"member {name!r}: its local header names another file")
        if info.flag_bits & ~0x800:
            problems.append(f"member {name!r} has general-purpose flags {info.flag_bits:#x}")
        central = (
            info.date_time,
            info.create_system,
            info.create_version,
            info.reserved,
            info.volume,
            info.internal_attr,
            info.external_attr,
            info.comment,
            info.extra,
        )
        if central != (FIXED_DATE_TIME, POSIX, info.extract_version, 0, 0, 0, FILE_ATTRIBUTES, b"", b""):
            problems.append(f"member {name!r}: its central directory entry is not as finobs writes it")
        position += LOCAL_HEADER.size + name_length + extra_length + info.compress_size
    raw.seek(0, 2)
    file_size = raw.tell()
    raw.seek(file_size - END_RECORD.size)
    magic, disk, cd_disk, disk_entries, entries, cd_size, cd_offset, comment_length = END_RECORD.unpack(
        raw.read(END_RECORD.size)
    )
    if (magic, disk, cd_disk, disk_entries, entries, cd_offset, comment_length) != (
        b"PK\x05\x06",
        0,
        0,
        len(infos),
        len(infos),
        position,
        0,
    ) or cd_offset + cd_size + END_RECORD.size != file_size:
        problems.append("the archive's end record is not as finobs writes it (entries, offsets or a comment)")
    entry = cd_offset
    for info in infos:  # the lengths zipfile reads past silently when they overrun the directory
        raw.seek(entry + 28)
        lengths = CENTRAL_LENGTHS.unpack(raw.read(CENTRAL_LENGTHS.size))
        name = info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437")
        if lengths != (len(name), 0, 0):
            problems.append(f"member {info.filename!r}: its central directory entry has wrong lengths")
        entry += CENTRAL_ENTRY_SIZE + sum(lengths)
    if entry != cd_offset + cd_size:
        problems.append("the central directory's entries do not fill it exactly")
    return problems


def _verify(archive: zipfile.ZipFile, trusted: dict[str, Ed25519PublicKey]) -> Verdict:
    problems: list[str] = []
    names = [info.filename for info in archive.infolist()]
    for name in sorted(set(names)):
        if names.count(name) > 1:
            problems.append(f"member {name!r} appears {names.count(name)} times")
        if reason := unsafe_path(name):
            problems.append(f"member {name!r} {reason}")
    if MANIFEST not in names or SIGNATURE not in names:
        problems.append(f"{MANIFEST} or {SIGNATURE} is missing")
        return Verdict(False, problems)
    manifest_bytes = archive.read(MANIFEST)
    try:
        manifest = json.loads(manifest_bytes)
        if canonical_json(manifest) != manifest_bytes:
            problems.append(f"{MANIFEST} is not canonical JSON (sorted, compact, no floats)")
    except (ValueError, UnicodeDecodeError) as exc:
        return Verdict(False, [*problems, f"{MANIFEST} is not JSON: {exc}"])
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return Verdict(False, [*problems, f"{MANIFEST} does not describe a {FORMAT}"])
    if manifest.get("format_version") != FORMAT_VERSION:
        problems.append(f"format version {manifest.get('format_version')!r} is not {FORMAT_VERSION}")
    key_id = str(manifest.get("signing_key_id", ""))
    problems += _signature_problems(archive.read(SIGNATURE), manifest_bytes, trusted.get(key_id), key_id)
    problems += _member_problems(archive, manifest.get("files"), set(names))
    if not problems and AUDIT_EVENTS in names:
        problems += _audit_problems(archive, manifest.get("audit_segment"))
    return Verdict(not problems, problems, manifest, key_id)


def audit_event_hash(event: dict) -> str:
    """The hash finobs' audit chain gives an event: SHA-256 of the canonical JSON of its content and the
    previous event's hash (floats allowed here: they are the payload's own)."""
    body = {key: event[key] for key in ("prev_hash", "created_at", "actor", "action", "object_type", "payload")}
    body["object_id"] = str(event["object_id"])
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _audit_problems(archive: zipfile.ZipFile, segment) -> list[str]:
    problems = []
    previous = segment.get("first_prev_hash") if isinstance(segment, dict) else None
    count = 0
    last_hash = None
    with archive.open(AUDIT_EVENTS) as lines:
        for number, line in enumerate(lines, start=1):
            try:
                event = json.loads(line)
                computed = audit_event_hash(event)
            except (ValueError, KeyError, TypeError) as exc:
                return [*problems, f"{AUDIT_EVENTS} line {number} is not an audit event: {exc}"]
            if computed != event.get("hash"):
                problems.append(f"audit event {event.get('id')} does not hash to its recorded hash: it was changed")
            if previous is not None and event.get("prev_hash") != previous:
                problems.append(f"audit event {event.get('id')} does not follow the one before it: the chain is broken")
            if isinstance(segment, dict):
                previous = event.get("hash")
            count += 1
            last_hash = event.get("hash")
            if len(problems) >= 20:
                return [*problems, "(further audit problems not listed)"]
    if isinstance(segment, dict) and (count != segment.get("events") or last_hash != segment.get("last_hash")):
        problems.append(
            f"the audit segment holds {count} events ending in {last_hash}; the manifest declares "
            f"{segment.get('events')} ending in {segment.get('last_hash')}"
        )
    return problems


def _signature_problems(signature_text: bytes, manifest_bytes: bytes, key, key_id: str) -> list[str]:
    if key is None:
        return [f"the manifest names signing key {key_id or '(none)'}, which is not among the trusted keys"]
    try:
        key.verify(base64.b64decode(signature_text.strip(), validate=True), manifest_bytes)
    except (InvalidSignature, binascii.Error, ValueError):
        return [f"the signature in {SIGNATURE} does not match {MANIFEST}: the manifest or signature was changed"]
    return []


def _member_problems(archive: zipfile.ZipFile, files, names: set[str]) -> list[str]:
    if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
        return [f"{MANIFEST} has no file list"]
    problems = []
    listed = set()
    for entry in files:
        name, expected_hash, expected_size = entry.get("path"), entry.get("sha256"), entry.get("size")
        if not isinstance(name, str) or unsafe_path(name):
            problems.append(f"the manifest lists an unsafe path {name!r}")
            continue
        if name in (MANIFEST, SIGNATURE) or name in listed:
            problems.append(f"the manifest lists {name!r} twice or as itself")
            continue
        listed.add(name)
        if name not in names:
            problems.append(f"member {name!r} is listed but missing")
            continue
        digest, size = _hash_member(archive, name, limit=expected_size if isinstance(expected_size, int) else 0)
        if size != expected_size:
            problems.append(f"member {name!r} has {size} bytes, the manifest says {expected_size}")
        elif digest != expected_hash:
            problems.append(f"member {name!r} was changed: its SHA-256 is not the one in the manifest")
    for extra in sorted(names - listed - {MANIFEST, SIGNATURE}):
        problems.append(f"member {extra!r} is not in the manifest")
    return problems


def _hash_member(archive: zipfile.ZipFile, name: str, *, limit: int) -> tuple[str, int]:
    """SHA-256 and size of a member, read in chunks; stops one byte past `limit` (a member that inflates
    beyond its declared size is wrong whatever follows, and reading on is how a ZIP bomb works)."""
    digest = hashlib.sha256()
    size = 0
    try:
        with archive.open(name) as member:
            while chunk := member.read(CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
                if size > limit:
                    break
    except Exception as exc:  # a damaged deflate stream, a CRC mismatch, a flag that asks for a password
        return f"unreadable: {exc}", -1
    return digest.hexdigest(), size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a finobs evidence bundle offline.")
    parser.add_argument("bundle", type=Path, help="the bundle (.zip)")
    parser.add_argument(
        "--key",
        action="append",
        type=Path,
        required=True,
        help="a trusted public key: a PEM file, or the JSON of GET /api/v1/exports/keys (repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        trusted = load_trusted_keys(args.key)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"Cannot read the trusted keys: {exc}", file=sys.stderr)
        return 2
    verdict = verify_bundle(args.bundle, trusted)
    print(verdict.summary())
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
