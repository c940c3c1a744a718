"""The abstract four-eyes request; each app's kind is a concrete model of it."""

from approvals.models.requests import ApprovalStatus, FourEyesRequest, one_pending_per

__all__ = ["ApprovalStatus", "FourEyesRequest", "one_pending_per"]
