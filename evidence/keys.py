"""The Ed25519 keys that sign evidence bundles: the current private key, and the public keys of past ones.

The private key is a PEM file at EXPORT_SIGNING_KEY_PATH (made there once with DEBUG on; never in the
repository). Rotation moves the current public key into the keyring at EXPORT_KEYRING_PATH, with the time it
was retired, and writes a new private key: a bundle signed before still verifies against the keyring, which
GET /api/v1/exports/keys serves. A key's id is the SHA-256 of its raw 32-byte public key.
"""

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from evidence.verifier import key_id_of


@dataclass(frozen=True)
class PublicKey:
    key_id: str
    public_key: str  # PEM (SubjectPublicKeyInfo)
    status: str  # "current" or "retired"
    created_at: str
    retired_at: str | None

    def as_dict(self) -> dict:
        return {
            "key_id": self.key_id,
            "algorithm": "Ed25519",
            "public_key": self.public_key,
            "status": self.status,
            "created_at": self.created_at,
            "retired_at": self.retired_at,
        }


def signing_key() -> Ed25519PrivateKey:
    """The current private key; with DEBUG on, made at EXPORT_SIGNING_KEY_PATH when there is none."""
    path = Path(settings.EXPORT_SIGNING_KEY_PATH)
    if not path.exists():
        if not settings.DEBUG:
            raise ImproperlyConfigured(
                f"EXPORT_SIGNING_KEY_PATH={path} does not exist: exports need an Ed25519 signing key (docs/exports.md)."
            )
        _write_private_key(path, Ed25519PrivateKey.generate())
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"EXPORT_SIGNING_KEY_PATH={path} is not an Ed25519 private key.")
    return key


def signing_key_available() -> bool:
    """Whether exports can be signed: a key is at EXPORT_SIGNING_KEY_PATH, or DEBUG will make one."""
    return settings.DEBUG or Path(settings.EXPORT_SIGNING_KEY_PATH).exists()


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def public_keys() -> list[PublicKey]:
    """The current key first (when there is one), then the retired ones, newest first."""
    keys = []
    if signing_key_available():
        current = signing_key().public_key()
        path = Path(settings.EXPORT_SIGNING_KEY_PATH)
        created = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).isoformat()
        keys.append(PublicKey(key_id_of(current), public_pem(current), "current", created, None))
    for entry in reversed(_keyring()):
        keys.append(
            PublicKey(entry["key_id"], entry["public_key"], "retired", entry["created_at"], entry["retired_at"])
        )
    return keys


def trusted_keys() -> dict[str, Ed25519PublicKey]:
    """Every key this deployment has signed with, by id: what `verify_bundle` trusts by default."""
    return {
        key.key_id: serialization.load_pem_public_key(key.public_key.encode())  # type: ignore[misc]
        for key in public_keys()
    }


def signing_key_rotate() -> tuple[str, str]:
    """Retire the current key into the keyring and make a new one; returns (old id, new id).

    The keyring is written before the new private key, so a crash in between loses no public key."""
    path = Path(settings.EXPORT_SIGNING_KEY_PATH)
    old = signing_key()
    old_public = old.public_key()
    created = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).isoformat()
    entries = [e for e in _keyring() if e["key_id"] != key_id_of(old_public)]
    entries.append(
        {
            "key_id": key_id_of(old_public),
            "public_key": public_pem(old_public),
            "created_at": created,
            "retired_at": timezone.now().isoformat(),
        }
    )
    _write_atomically(Path(settings.EXPORT_KEYRING_PATH), json.dumps({"keys": entries}, indent=2).encode(), 0o644)
    new = Ed25519PrivateKey.generate()
    _write_private_key(path, new)
    return key_id_of(old_public), key_id_of(new.public_key())


def _keyring() -> list[dict]:
    path = Path(settings.EXPORT_KEYRING_PATH)
    if not path.exists():
        return []
    try:
        return list(json.loads(path.read_text())["keys"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ImproperlyConfigured(f"EXPORT_KEYRING_PATH={path} is not a key list: {exc}") from None


def _write_private_key(path: Path, key: Ed25519PrivateKey) -> None:
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    _write_atomically(path, pem, 0o600)


def _write_atomically(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
