"""Appending to the audit chain and verifying it: the only code that writes AuditEvent rows."""

from audit.services.chain import (
    CHAIN_LOCK_CLASS,
    GENESIS_HASH,
    PLATFORM,
    AuditEntry,
    ChainReport,
    actor_label,
    audit_archived_remove,
    audit_log,
    audit_log_many,
    audit_verify,
    chain_of,
    hold_chain_lock,
)

__all__ = [
    "CHAIN_LOCK_CLASS",
    "GENESIS_HASH",
    "PLATFORM",
    "AuditEntry",
    "ChainReport",
    "actor_label",
    "audit_archived_remove",
    "audit_log",
    "audit_log_many",
    "audit_verify",
    "chain_of",
    "hold_chain_lock",
]
