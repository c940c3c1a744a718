"""Evidence exports: signed bundles of cases, SAR packages, the audit trail, transactions; archives."""

from evidence.services import case_bundle, trails  # noqa: F401  (each registers its bundle builders)
from evidence.services.case_bundle import CASE_MEMBERS, case_member
from evidence.services.records import (
    check_export,
    export_downloaded,
    export_file,
    export_request,
    export_run,
)
from evidence.services.requests import audit_export, case_export, transactions_export

__all__ = [
    "CASE_MEMBERS",
    "audit_export",
    "case_export",
    "case_member",
    "check_export",
    "export_downloaded",
    "export_file",
    "export_request",
    "export_run",
    "transactions_export",
]
