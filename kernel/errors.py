"""Errors a service raises when a business rule refuses an operation; each interface maps them to its own shape.

Besides these, services raise Django's own `ValidationError` (the input breaks a rule: 400 in the API)
and `PermissionDenied` (this person may not: 403). The API answers each as `{code, message, details}`
(kernel.api.errors); pages turn them into messages (kernel.pages).
"""


class Conflict(Exception):
    """The object is not in a state that allows the operation now (the API answers 409)."""

    def __init__(self, message: str, *, code: str = "conflict", details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = details or {}
