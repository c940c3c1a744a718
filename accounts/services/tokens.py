"""Bearer tokens for people: issued for a password (and a second factor when their sign-in needs one),
refreshed once each (the used refresh token is blacklisted), revoked on sign-out. Issue and sign-out are
audited in the person's organisation."""

from django.conf import settings
from django.contrib.auth import authenticate, user_logged_in
from django.db import transaction
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.settings import api_settings

from accounts.lockout import LOCKED_OUT
from accounts.services.second_factor import is_enrolled, second_factor_check
from accounts.tokens import PersonRefreshToken, TokenPair, TokenRefused, person_of, token_pair_for
from audit.services import audit_log
from kernel.mfa import second_factor_applies
from organisations.context import organisation_context
from organisations.models import Organisation
from organisations.selectors import membership_of

# How a token says the person proved themselves (RFC 8176 `amr`): a password, and a one-time code.
PASSWORD, ONE_TIME_CODE = "pwd", "otp"


def token_pair_issue(*, request, username: str, password: str, otp: str = "") -> TokenPair:
    """A token pair for the person `username`/`password` names, in their organisation. Their sign-in's
    second factor (`otp`: a code from their authenticator app, or a backup code) is required when it
    applies to them; given when it does not, it still marks the tokens verified (kernel.mfa).

    `request` is Django's: django-axes counts failures and locks out as on the sign-in page.
    Raises TokenRefused (invalid_credentials, locked_out, no_organisation, organisation_inactive,
    second_factor_not_enrolled, second_factor_required, second_factor_invalid)."""
    _require_enabled()
    user = authenticate(request, username=username, password=password)
    if user is None:
        if getattr(request, "axes_locked_out", False):
            raise TokenRefused("locked_out", LOCKED_OUT)
        raise TokenRefused("invalid_credentials", "The username or password is not right.")
    membership = membership_of(user)
    if membership is None:
        raise TokenRefused("no_organisation", "Bearer tokens are for members of an organisation.")
    organisation = membership.organisation
    if not organisation.is_active:
        raise TokenRefused("organisation_inactive", "Your organisation is inactive.")
    with organisation_context(organisation):
        methods = [PASSWORD]
        if otp or second_factor_applies(user):
            if not is_enrolled(user):
                raise TokenRefused(
                    "second_factor_not_enrolled",
                    "Your sign-in needs a second factor: enrol an authenticator app by signing in to the "
                    "workspace first.",
                )
            if not otp:
                raise TokenRefused("second_factor_required", "Send `otp`: a code from your authenticator app.")
            if second_factor_check(user=user, token=otp) is None:
                raise TokenRefused("second_factor_invalid", "The one-time code is not right (or was used).")
            methods.append(ONE_TIME_CODE)
        with transaction.atomic():
            pair = token_pair_for(user, organisation, methods=methods)
            audit_log(
                actor=user,
                action="auth.token_issued",
                object_type="user",
                object_id=user.pk,
                payload={"jti": pair.refresh[api_settings.JTI_CLAIM], "amr": methods},
            )
    # A sign-in like the page's: django-axes clears the failures, Django records last_login.
    user_logged_in.send(sender=user.__class__, request=request, user=user)
    return pair


def token_pair_refresh(*, refresh: str) -> TokenPair:
    """A new pair for a refresh token, which is then blacklisted (it works once): its person must still be
    active in the token's organisation. Raises TokenRefused."""
    _require_enabled()
    token = _refresh_token(refresh)
    user, organisation = person_of(token)
    with organisation_context(organisation), transaction.atomic():
        _, blacklisted_now = token.blacklist()
        if not blacklisted_now:  # a concurrent refresh with the same token got there first
            raise TokenRefused("token_revoked", "This refresh token was already used or revoked: sign in again.")
        return token_pair_for(user, organisation, methods=token.get("amr", [PASSWORD]))


def token_revoke(*, refresh: str) -> None:
    """Sign out: blacklist a refresh token (again is fine). Access tokens already issued from it still work
    until they expire (JWT_ACCESS_TOKEN_LIFETIME_S). Raises TokenRefused for an invalid or expired token."""
    _require_enabled()
    try:
        token = _refresh_token(refresh)
    except TokenRefused as exc:
        if exc.code == "token_revoked":
            return
        raise
    organisation = Organisation.objects.filter(pk=token.get("organisation_id")).first()
    with organisation_context(organisation), transaction.atomic():
        token.blacklist()
        audit_log(
            actor=f"user:{token.get('username', '')}",
            action="auth.token_revoked",
            object_type="user",
            object_id=token.get(api_settings.USER_ID_CLAIM, ""),
            payload={"jti": token[api_settings.JTI_CLAIM]},
        )


def _refresh_token(raw: str) -> PersonRefreshToken:
    try:
        return PersonRefreshToken(raw)
    except ExpiredTokenError as exc:
        raise TokenRefused("token_expired", "The refresh token has expired: sign in again.") from exc
    except PersonRefreshToken.Blacklisted as exc:
        raise TokenRefused("token_revoked", "This refresh token was already used or revoked: sign in again.") from exc
    except TokenError as exc:
        raise TokenRefused("token_invalid", "The refresh token is not valid.") from exc


def _require_enabled() -> None:
    if not settings.JWT_ENABLED:
        raise TokenRefused(
            "bearer_tokens_unavailable",
            "This server issues no bearer tokens: its operators have not configured JWT keys.",
        )
