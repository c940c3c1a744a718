"""What the token endpoints take and answer."""

from rest_framework import serializers


class TokenObtainSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, trim_whitespace=False)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
    otp = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text="A code from the authenticator app (or a backup code), when the person's sign-in needs one.",
    )


class RefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096, trim_whitespace=False, help_text="A refresh token.")


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="The access token: `Authorization: Bearer <access>`.")
    refresh = serializers.CharField(help_text="The refresh token: used once, for a new pair.")
    token_type = serializers.CharField(help_text="Always `Bearer`.")
    expires_in = serializers.IntegerField(help_text="Seconds the access token is valid for.")
    refresh_expires_in = serializers.IntegerField(help_text="Seconds the refresh token is valid for.")
