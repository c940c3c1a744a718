"""The shipped default model a new organisation starts from, until it has traffic of its own to retrain on.

It is the ensemble trained on finobs' own generated traffic (DEFAULT_MODEL_TRAINING), the same for every
organisation. Training it takes a while, so a process trains it once and keeps it in VAR_DIR, keyed by the
training settings and the feature list; each new organisation gets a copy registered as its v1 champion.
Its first retraining on its own data then goes through four-eyes like any promotion.
"""

import base64
import hashlib
import json
import threading
from datetime import datetime
from pathlib import Path

from django.conf import settings

from scoring.features import FEATURE_NAMES

_BINARY = ("artifact", "explainer_artifact")
_DATES = ("training_window_start", "training_window_end")
_lock = threading.Lock()


def default_model_fields() -> dict:
    """The default model's fields (a ModelVersion's, unsaved, no version number or owner)."""
    spec = dict(settings.DEFAULT_MODEL_TRAINING)
    digest = hashlib.sha256(json.dumps([spec, list(FEATURE_NAMES)], sort_keys=True).encode()).hexdigest()[:16]
    path = Path(settings.VAR_DIR) / f"default-model-{digest}.json"
    with _lock:
        if not path.exists():
            _write(path, _train(spec))
        return _read(path)


def _train(spec: dict) -> dict:
    from scoring.services.registry import synthetic_model_fields

    fields = synthetic_model_fields(
        n_accounts=spec["n_accounts"],
        days=spec["days"],
        seed=spec["seed"],
        n_estimators=spec["n_estimators"],
        fraud_rate=spec.get("fraud_rate", 0.015),
    )
    fields["params"] = {**fields["params"], "shipped_default": True}
    fields.pop("created_by", None)
    return fields


def _write(path: Path, fields: dict) -> None:
    stored = dict(fields)
    for name in _BINARY:
        stored[name] = base64.b64encode(bytes(stored[name])).decode()
    for name in _DATES:
        stored[name] = stored[name].isoformat() if stored[name] else None
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(stored))
    partial.replace(path)


def _read(path: Path) -> dict:
    fields = json.loads(path.read_text())
    for name in _BINARY:
        fields[name] = base64.b64decode(fields[name])
    for name in _DATES:
        fields[name] = datetime.fromisoformat(fields[name]) if fields[name] else None
    if hashlib.sha256(fields["artifact"]).hexdigest() != fields["artifact_sha256"]:
        path.unlink()
        raise ValueError(f"{path} was damaged; it is trained again on the next use.")
    return fields
