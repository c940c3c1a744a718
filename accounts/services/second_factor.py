"""TOTP enrolment (an authenticator app scans a QR code), backup codes, and verifying a session."""

from base64 import b32encode

from django.db import transaction
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.services import audit_log

BACKUP_CODES = 10
DEVICE_NAME = "authenticator app"


def second_factor_enrolment(*, user) -> TOTPDevice:
    """The unconfirmed TOTP device `user` is enrolling (made once; a new secret only if none is pending)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device


def second_factor_confirm(*, request, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm `device` with a code from the app: the session is verified, and fresh backup codes are returned
    (shown once; each works once). None if the code is wrong."""
    user = request.user
    if device.user_id != user.pk or device.confirmed or not device.verify_token(token.strip()):
        audit_log(actor=user, action="mfa.enrolment_failed", object_type="user", object_id=user.pk, payload={})
        return None
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()  # one authenticator at a time
        codes = _backup_codes(user)
        audit_log(actor=user, action="mfa.enrolled", object_type="user", object_id=user.pk, payload={})
    otp_login(request, device)
    return codes


def second_factor_verify(*, request, token: str) -> bool:
    """Verify the session with a code from the authenticator app, or a backup code (used up)."""
    device = second_factor_check(user=request.user, token=token)
    if device is None:
        return False
    otp_login(request, device)
    return True


def second_factor_check(*, user, token: str) -> TOTPDevice | StaticDevice | None:
    """The device that accepts `token` (a code from the authenticator app, or a backup code, used up), or None.
    Audited either way; django-otp's throttle slows guessing (each wrong code doubles the wait)."""
    token = token.strip().replace(" ", "")
    for device in [*TOTPDevice.objects.filter(user=user, confirmed=True), *StaticDevice.objects.filter(user=user)]:
        verified, _ = device.verify_is_allowed()
        if verified and device.verify_token(token):
            action = "mfa.backup_code_used" if isinstance(device, StaticDevice) else "mfa.verified"
            audit_log(actor=user, action=action, object_type="user", object_id=user.pk, payload={})
            return device
    audit_log(actor=user, action="mfa.verification_failed", object_type="user", object_id=user.pk, payload={})
    return None


def second_factor_provision(*, user) -> tuple[str, list[str]]:
    """An authenticator secret (base32; kept if `user` has one) and fresh backup codes, for an account an
    operator hands over set up (the demo's users). Audited."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=True)
    with transaction.atomic():
        codes = _backup_codes(user)
        audit_log(actor="system:provision", action="mfa.provisioned", object_type="user", object_id=user.pk, payload={})
    return b32encode(device.bin_key).decode(), codes


def is_enrolled(user) -> bool:
    return user_has_device(user, confirmed=True)


def _backup_codes(user) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(user=user, name="backup codes")
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes
