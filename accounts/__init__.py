"""People's second factor: TOTP enrolment with a QR code, backup codes, and verified sessions."""
