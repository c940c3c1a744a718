"""The bundle verifier finobs runs: the standalone tools/verify_bundle.py itself, loaded from its file.

One implementation serves both, so the regulator's script and `manage.py verify_bundle` cannot disagree;
the script imports nothing of finobs, so it runs where finobs is not installed.
"""

import importlib.util
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parent.parent / "tools" / "verify_bundle.py"
_NAME = "finobs_tools_verify_bundle"


def _load():
    if _NAME in sys.modules:
        return sys.modules[_NAME]
    spec = importlib.util.spec_from_file_location(_NAME, _PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[_NAME] = module  # dataclasses resolve their module by name while the class is made
    spec.loader.exec_module(module)
    return module


_verifier = _load()
FILE_ATTRIBUTES = _verifier.FILE_ATTRIBUTES
FIXED_DATE_TIME = _verifier.FIXED_DATE_TIME
FORMAT = _verifier.FORMAT
FORMAT_VERSION = _verifier.FORMAT_VERSION
MANIFEST = _verifier.MANIFEST
SIGNATURE = _verifier.SIGNATURE
Verdict = _verifier.Verdict
canonical_json = _verifier.canonical_json
key_id_of = _verifier.key_id_of
load_trusted_keys = _verifier.load_trusted_keys
unsafe_path = _verifier.unsafe_path
verify_bundle = _verifier.verify_bundle
audit_event_hash = _verifier.audit_event_hash
