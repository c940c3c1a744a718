"""People's bearer tokens (JWT, RS256): what they claim, and the check that makes one a person in an organisation.

An access token lives minutes (JWT_ACCESS_TOKEN_LIFETIME_S) and is what the API, the SSE stream and the
WebSockets take; a refresh token lives hours and is used once, for a new pair (accounts.services.tokens).
Claims: `sub` and `user_id` (the person's id), `username`, `organisation` (slug), `organisation_id`,
`roles` (group names, informational: permissions are read from the database on every request) and `amr`
(how the person proved themselves: "pwd", and "otp" after a second factor, which makes the token count as
a verified session for kernel.mfa). A token is
accepted only while its organisation is still the person's (same membership, active organisation) and
the person is active.
"""

import hashlib
from dataclasses import dataclass

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenBackendError, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from organisations.models import Organisation
from organisations.selectors import membership_of

# What a WebSocket client offers as its first subprotocol to send its access token as the second one.
BEARER_SUBPROTOCOL = "finobs.bearer"
# API keys (apikeys.authentication) begin so; a bearer credential that does is never a token.
API_KEY_BEGINNING = "fo_"


class TokenRefused(Exception):
    """A token that does not (or no longer does) make its bearer a person in an organisation."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class RotatingKeyTokenBackend(TokenBackend):
    """simplejwt's backend, verifying with the current public key and, while the keys are being rotated,
    with JWT_PREVIOUS_PUBLIC_KEY: tokens signed before the rotation stay valid until they expire."""

    def __init__(self, *, previous_verifying_key: str = "", **kwargs):
        super().__init__(**kwargs)
        self.previous = (
            TokenBackend(**{**kwargs, "verifying_key": previous_verifying_key}) if previous_verifying_key else None
        )

    def decode(self, token, verify: bool = True) -> dict:
        try:
            return super().decode(token, verify=verify)
        except TokenBackendError as exc:
            # Only a signature made by another key is worth a second try; an expired token stays expired.
            if self.previous is None or not isinstance(exc.__cause__, jwt.InvalidSignatureError):
                raise
            return self.previous.decode(token, verify=verify)


_backends: dict[tuple, RotatingKeyTokenBackend] = {}


def token_backend() -> RotatingKeyTokenBackend:
    """The backend for the keys in settings now (one per key set: tests and rotations change them)."""
    keys = (settings.JWT_PRIVATE_KEY, settings.JWT_PUBLIC_KEY, settings.JWT_PREVIOUS_PUBLIC_KEY)
    backend = _backends.get(keys)
    if backend is None:
        backend = _backends[keys] = RotatingKeyTokenBackend(
            algorithm="RS256",
            signing_key=keys[0],
            verifying_key=keys[1],
            previous_verifying_key=keys[2],
            issuer=api_settings.ISSUER,
        )
    return backend


class PersonAccessToken(AccessToken):
    def get_token_backend(self):
        return token_backend()


class PersonRefreshToken(RefreshToken):
    access_token_class = PersonAccessToken

    class Blacklisted(TokenError):
        """The refresh token was used (refreshed) or revoked (signed out)."""

    def get_token_backend(self):
        return token_backend()

    def check_blacklist(self) -> None:
        if BlacklistedToken.objects.filter(token__jti=self.payload[api_settings.JTI_CLAIM]).exists():
            raise self.Blacklisted("Token is blacklisted")


@dataclass(frozen=True)
class TokenPair:
    access: PersonAccessToken
    refresh: PersonRefreshToken


def token_pair_for(user, organisation: Organisation, *, methods: list[str]) -> TokenPair:
    """A new pair for `user` acting in `organisation`, who proved themselves by `methods` (the `amr` claim:
    "pwd", and "otp" after a second factor). The refresh token is recorded as outstanding (by its hash only:
    a reader of the database cannot use it) so that using it or signing out blacklists it."""
    refresh = PersonRefreshToken()
    refresh[api_settings.USER_ID_CLAIM] = user.pk
    refresh["sub"] = str(user.pk)
    refresh["username"] = user.get_username()
    refresh["organisation"] = organisation.slug
    refresh["organisation_id"] = organisation.pk
    refresh["roles"] = sorted(user.groups.values_list("name", flat=True))
    refresh["amr"] = list(methods)
    OutstandingToken.objects.create(
        user=user,
        jti=refresh[api_settings.JTI_CLAIM],
        token=fingerprint(str(refresh)),
        created_at=refresh.current_time,
        expires_at=datetime_from_epoch(refresh["exp"]),
    )
    return TokenPair(access=refresh.access_token, refresh=refresh)


def fingerprint(raw_token: str) -> str:
    return "sha256:" + hashlib.sha256(raw_token.encode()).hexdigest()


def is_api_key(credential: str) -> bool:
    return credential.startswith(API_KEY_BEGINNING)


def access_token_from(raw: str | bytes) -> PersonAccessToken:
    """The valid (signed by our key, unexpired) access token `raw`; TokenRefused otherwise."""
    if not settings.JWT_ENABLED:
        raise TokenRefused("bearer_tokens_unavailable", "This server accepts no bearer tokens.")
    try:
        return PersonAccessToken(raw)
    except TokenError as exc:
        expired = isinstance(exc, ExpiredTokenError)
        raise TokenRefused(
            "token_expired" if expired else "token_invalid",
            "The access token has expired: refresh it." if expired else "The access token is not valid.",
        ) from exc


def person_of(token: PersonAccessToken | PersonRefreshToken):
    """(user, organisation) a valid token names, if they still hold: the person exists and is active, and
    the organisation in the token is still theirs and active. TokenRefused otherwise."""
    user = (
        get_user_model()
        .objects.select_related("membership__organisation")
        .filter(pk=token.get(api_settings.USER_ID_CLAIM))
        .first()
    )
    if user is None or not user.is_active:
        raise TokenRefused("token_invalid", "The token's person is not an active user.")
    membership = membership_of(user)
    if membership is None or membership.organisation_id != token.get("organisation_id"):
        raise TokenRefused("organisation_changed", "The token's organisation is no longer yours: sign in again.")
    if not membership.organisation.is_active:
        raise TokenRefused("organisation_inactive", "Your organisation is inactive.")
    return user, membership.organisation


def person_for_access_token(raw: str | bytes):
    """(user, organisation, token) for a raw access token; TokenRefused when it does not hold."""
    token = access_token_from(raw)
    user, organisation = person_of(token)
    return user, organisation, token
