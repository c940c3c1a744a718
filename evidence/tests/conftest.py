"""Evidence test wiring: each test signs with its own key and writes bundles into its own directories.

The case personas and builders are cases' own (cases/tests/conftest.py): alice (analyst, team A), carol and
dave (compliance), victor (viewer)."""

import io
import json
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit.tests.conftest import tamper  # noqa: F401
from cases.tests.conftest import flagged_decisions, model_version, open_case, personas, teams  # noqa: F401


@pytest.fixture(autouse=True)
def export_paths(settings, tmp_path):
    key = Ed25519PrivateKey.generate()
    key_path = tmp_path / "keys" / "export-signing-key.pem"
    key_path.parent.mkdir()
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    settings.EXPORT_SIGNING_KEY_PATH = str(key_path)
    settings.EXPORT_KEYRING_PATH = str(tmp_path / "keys" / "export-keyring.json")
    settings.EXPORT_PATH = str(tmp_path / "exports")
    settings.ARCHIVE_PATH = str(tmp_path / "archive")
    settings.AUDIT_CHECKPOINT_PATH = str(tmp_path / "audit-checkpoints.jsonl")
    return tmp_path


@pytest.fixture
def keys_file(export_paths, client):
    """The deployment's public keys as GET /api/v1/exports/keys serves them, saved as a regulator would."""

    def save() -> Path:
        from evidence.keys import public_keys

        path = export_paths / "finobs-export-keys.json"
        path.write_text(json.dumps({"keys": [key.as_dict() for key in public_keys()]}))
        return path

    return save


def rewrite_bundle(source: Path, target: Path, *, change=None, drop: str | None = None, add: dict | None = None):
    """Copy a bundle member by member: `change` maps a member name to a function of its bytes; `drop` leaves one
        out; `add` puts extra members in. What someone who edits a bundle with a ZIP tool produces, keeping the layout
    finobs writes so that the content checks, not the layout checks, are what refuses it."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename == drop:
                continue
            data = old.read(info.filename)
            if change and info.filename in change:
                data = change[info.filename](data)
            new.writestr(info, data)
        for name, data in (add or {}).items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o600 << 16
            new.writestr(info, data)
    return target


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def jsonl(data: bytes) -> list[dict]:
    return [json.loads(line) for line in io.BytesIO(data).read().decode().splitlines() if line]
