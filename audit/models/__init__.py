"""The audit trail's model."""

from audit.models.chain import AuditEvent, AuditImmutableError

__all__ = ["AuditEvent", "AuditImmutableError"]
