"""Enrolling a second factor and verifying a session with it; creating organisations and entering one for
support. Every step audited."""

from accounts.services.organisations import organisation_create, support_enter, support_leave
from accounts.services.second_factor import (
    BACKUP_CODES,
    second_factor_confirm,
    second_factor_enrolment,
    second_factor_provision,
    second_factor_verify,
)

__all__ = [
    "BACKUP_CODES",
    "organisation_create",
    "second_factor_confirm",
    "second_factor_enrolment",
    "second_factor_provision",
    "second_factor_verify",
    "support_enter",
    "support_leave",
]
