"""DRF authentication by a person's access token (`Authorization: Bearer <JWT>`), beside API keys and sessions.

A bearer credential that begins `fo_` is an API key and left to apikeys.authentication; anything else is
taken for an access token. The request then runs in the token's organisation, which must still be the
person's, as ApiKeyAuthentication runs a key's request in the key's.
"""

from rest_framework import authentication, exceptions

from accounts.tokens import TokenRefused, is_api_key, person_for_access_token
from kernel.logs import bind
from organisations.context import activate


class TokenRefusedError(exceptions.AuthenticationFailed):
    """A 401 whose code says what is wrong with the token (token_expired, organisation_changed, …)."""


def bearer_credential(request) -> str | None:
    scheme, _, credential = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    credential = credential.strip()
    return credential if scheme.lower() == "bearer" and credential else None


class PersonTokenAuthentication(authentication.BaseAuthentication):
    """`request.user` is the token's person, `request.auth` the validated access token."""

    def authenticate(self, request):
        raw = bearer_credential(request)
        if raw is None or is_api_key(raw):
            return None
        try:
            user, organisation, token = person_for_access_token(raw)
        except TokenRefused as exc:
            raise TokenRefusedError(exc.message, code=exc.code) from None
        # The second factor proved when the token was issued makes this a verified "session" (kernel.mfa).
        verified = "otp" in token.get("amr", ())
        user.is_verified = lambda: verified
        activate(organisation)
        getattr(request, "_request", request).organisation = organisation
        bind(user_id=user.pk)
        return (user, token)

    def authenticate_header(self, request):
        return 'Bearer realm="finobs"'
