"""Enrolling a second factor and verifying a session with it; every step audited."""

from accounts.services.second_factor import (
    BACKUP_CODES,
    second_factor_confirm,
    second_factor_enrolment,
    second_factor_provision,
    second_factor_verify,
)

__all__ = [
    "BACKUP_CODES",
    "second_factor_confirm",
    "second_factor_enrolment",
    "second_factor_provision",
    "second_factor_verify",
]
