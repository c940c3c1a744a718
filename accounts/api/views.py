"""POST /api/v1/auth/token, /token/refresh and /logout: bearer tokens for people using the API from scripts."""

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api.serializers import RefreshSerializer, TokenObtainSerializer, TokenPairSerializer
from accounts.services.tokens import token_pair_issue, token_pair_refresh, token_revoke
from accounts.tokens import TokenPair, TokenRefused
from kernel.api.errors import ApiError

# Refusals that are not a 401 (a credential that is missing, wrong or no longer valid).
_STATUS = {
    "no_organisation": status.HTTP_403_FORBIDDEN,
    "organisation_inactive": status.HTTP_403_FORBIDDEN,
    "locked_out": status.HTTP_429_TOO_MANY_REQUESTS,
    "bearer_tokens_unavailable": status.HTTP_503_SERVICE_UNAVAILABLE,
}
ERROR = {"$ref": "#/components/schemas/Error"}
_UNAVAILABLE = OpenApiResponse(ERROR, description="This server has no JWT keys configured: it issues no tokens.")


def _refused(exc: TokenRefused) -> ApiError:
    return ApiError(status_code=_STATUS.get(exc.code, status.HTTP_401_UNAUTHORIZED), code=exc.code, message=exc.message)


def _pair(pair: TokenPair) -> Response:
    body = {
        "access": str(pair.access),
        "refresh": str(pair.refresh),
        "token_type": "Bearer",
        "expires_in": settings.JWT_ACCESS_TOKEN_LIFETIME_S,
        "refresh_expires_in": settings.JWT_REFRESH_TOKEN_LIFETIME_S,
    }
    return Response(TokenPairSerializer(body).data)


class TokenView(APIView):
    """The body is the credential: no other authentication applies (nor its CSRF check)."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def valid(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class TokenObtainView(TokenView):
    @extend_schema(
        tags=["auth"],
        summary="Get a token pair",
        description=(
            "A person's username and password, and `otp` (a code from their authenticator app) when their "
            "sign-in needs a second factor. Refused (403) for people outside every organisation and members "
            "of an inactive one; repeated failures lock the account as the sign-in page does (429)."
        ),
        request=TokenObtainSerializer,
        responses={200: TokenPairSerializer, 503: _UNAVAILABLE},
        auth=[],
    )
    def post(self, request):
        data = self.valid(TokenObtainSerializer)
        try:
            pair = token_pair_issue(
                request=request._request, username=data["username"], password=data["password"], otp=data.get("otp", "")
            )
        except TokenRefused as exc:
            raise _refused(exc) from None
        return _pair(pair)


class TokenRefreshView(TokenView):
    @extend_schema(
        tags=["auth"],
        summary="Refresh a token pair",
        description="A new pair for a refresh token, which is then spent: using it again is refused (401).",
        request=RefreshSerializer,
        responses={200: TokenPairSerializer, 503: _UNAVAILABLE},
        auth=[],
    )
    def post(self, request):
        data = self.valid(RefreshSerializer)
        try:
            return _pair(token_pair_refresh(refresh=data["refresh"]))
        except TokenRefused as exc:
            raise _refused(exc) from None


class LogoutView(TokenView):
    @extend_schema(
        tags=["auth"],
        summary="Sign out",
        description=("Revokes a refresh token (again is fine). Access tokens issued from it work until they expire."),
        request=RefreshSerializer,
        responses={204: None, 503: _UNAVAILABLE},
        auth=[],
    )
    def post(self, request):
        data = self.valid(RefreshSerializer)
        try:
            token_revoke(refresh=data["refresh"])
        except TokenRefused as exc:
            raise _refused(exc) from None
        return Response(status=status.HTTP_204_NO_CONTENT)
