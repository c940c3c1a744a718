"""Signed checkpoints of the chain head, kept outside the audit table.

Row triggers stop UPDATE and DELETE, but someone with the database's owner rights can still drop
the newest rows or truncate and rebuild the table; the chain alone cannot tell (PITFALLS.md). A
checkpoint records the head of one organisation's chain (id, hash, number of events) signed with Django's signing key
(SECRET_KEY, with SECRET_KEY_FALLBACKS for rotation) and appended to AUDIT_CHECKPOINT_PATH: a file,
in production on storage the database's operators cannot rewrite (a WORM bucket mount, another
host). Verification then proves every checkpointed head is still in the chain, unchanged.

An archive checkpoint (`archived`) records the head of a segment that retention moved out of the table into a
signed bundle: the chain then starts after it, and verification starts from its hash and position; the bundle
(`verify_bundle`) proves the archived segment itself.
"""

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings
from django.core import signing
from django.utils import timezone

SIGNING_SALT = "finobs.audit.checkpoint"


@dataclass(frozen=True)
class Checkpoint:
    head_id: int
    head_hash: str
    events: int  # events in the chain up to and including head_id
    created_at: str
    organisation_id: int | None  # whose chain; None for the platform's
    archived: bool = False  # rows up to head_id were archived (into the bundle of bundle_sha256) and removed
    bundle_sha256: str = ""


class CheckpointFileError(Exception):
    """A line of the checkpoint file is unreadable or its signature is wrong."""


def checkpoint_path() -> Path:
    return Path(settings.AUDIT_CHECKPOINT_PATH)


def audit_checkpoint_write(*, organisation=None) -> Checkpoint | None:
    """Append a signed checkpoint of the head of `organisation`'s chain (the current one unless named; PLATFORM
    for the platform's); None when the chain is empty or unchanged."""
    from audit.services.chain import _organisation_id, as_chain_owner, chain_of

    organisation_id = _organisation_id(organisation)
    chain = chain_of(organisation_id)
    with as_chain_owner(organisation_id):
        head = chain.order_by("-id").values("id", "hash").first()
        if head is None:
            return None
        archive = latest_archive(organisation_id)
        events = chain.filter(id__lte=head["id"], id__gt=archive.head_id if archive else 0).count()
    latest = [c for c in audit_checkpoints_read() if c.organisation_id == organisation_id and not c.archived][-1:]
    if latest and latest[0].head_id == head["id"]:
        return None
    checkpoint = Checkpoint(
        head_id=head["id"],
        head_hash=head["hash"],
        events=events + (archive.events if archive else 0),
        created_at=timezone.now().isoformat(),
        organisation_id=organisation_id,
    )
    _append(checkpoint)
    return checkpoint


def archive_checkpoint_write(
    *, organisation_id: int | None, head_id: int, head_hash: str, events: int, bundle_sha256: str
) -> Checkpoint:
    """Sign that the chain of `organisation_id` up to `head_id` (its `events`-th event, hash `head_hash`) was
    archived into the bundle `bundle_sha256`; written before the rows are removed."""
    checkpoint = Checkpoint(
        head_id=head_id,
        head_hash=head_hash,
        events=events,
        created_at=timezone.now().isoformat(),
        organisation_id=organisation_id,
        archived=True,
        bundle_sha256=bundle_sha256,
    )
    _append(checkpoint)
    return checkpoint


def latest_archive(organisation_id: int | None, checkpoints=None) -> Checkpoint | None:
    """The newest archive checkpoint of a chain: where its rows in the table begin."""
    found = [c for c in (checkpoints if checkpoints is not None else audit_checkpoints_read()) if c.archived]
    found = [c for c in found if c.organisation_id == organisation_id]
    return max(found, key=lambda c: c.head_id, default=None)


def archived_events(organisation_id: int | None) -> int:
    archive = latest_archive(organisation_id)
    return archive.events if archive else 0


def _append(checkpoint: Checkpoint) -> None:
    path = checkpoint_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = signing.dumps(asdict(checkpoint), salt=SIGNING_SALT, compress=False)
    with path.open("a", encoding="ascii") as out:
        out.write(line + "\n")
        out.flush()
        os.fsync(out.fileno())


def audit_checkpoints_read() -> list[Checkpoint]:
    """Every checkpoint in the file, oldest first; raises CheckpointFileError on a forged or broken line."""
    path = checkpoint_path()
    if not path.exists():
        return []
    checkpoints = []
    for number, line in enumerate(path.read_text(encoding="ascii").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            checkpoints.append(Checkpoint(**signing.loads(line, salt=SIGNING_SALT)))
        except (signing.BadSignature, TypeError, json.JSONDecodeError) as exc:
            raise CheckpointFileError(f"{path}, line {number}: signature or content invalid ({exc})") from None
    return checkpoints
