"""Asking for and deciding four-eyes requests (the only code that writes their status)."""

from approvals.services.deciding import (
    FourEyesViolation,
    approval_decide,
    approval_request,
    approvals_supersede,
    check_decide,
)

__all__ = ["FourEyesViolation", "approval_decide", "approval_request", "approvals_supersede", "check_decide"]
