"""Secrets at rest: a model field stored encrypted under FIELD_ENCRYPTION_KEYS (Fernet, newest key first).

Callback signing secrets and pull-source credentials must be usable by the workers (signing, the auth
header), so they cannot be hashed; a database dump or a backup alone must still not reveal them. The
value is a Fernet token in the column (AES-128-CBC with HMAC-SHA256, authenticated) and plain text in
Python. Several keys rotate: the newest encrypts, every key decrypts, and `reencrypt_secrets` moves
the stored tokens to the newest key before an old one is dropped.
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models
from django.db.models import Value
from django.db.models.functions import Cast


class UndecryptableSecret(ValueError):
    """A stored secret no configured key opens: its key was dropped before the secrets were re-encrypted."""


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def keys() -> MultiFernet:
    """The configured keys, the newest first (the one that encrypts)."""
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    return keys().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return keys().decrypt(token.encode()).decode()
    except InvalidToken:
        raise UndecryptableSecret(
            "A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEYS: was a key removed before "
            "`manage.py reencrypt_secrets` ran?"
        ) from None


def is_under_newest_key(token: str) -> bool:
    try:
        Fernet(settings.FIELD_ENCRYPTION_KEYS[0]).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def reencrypt(token: str) -> str:
    """The same secret as a token under the newest key."""
    try:
        return keys().rotate(token.encode()).decode()
    except InvalidToken:
        raise UndecryptableSecret("A stored secret cannot be decrypted with FIELD_ENCRYPTION_KEYS.") from None


def fingerprint(value: str) -> str:
    """What admin pages show of a secret: its last four characters, enough to tell two apart."""
    return f"…{value[-4:]}" if value else "—"


def reencrypt_field(queryset: models.QuerySet, field: str) -> tuple[int, int, int]:
    """Move `field`'s stored tokens in `queryset` to the newest key: (re-encrypted, already current, unreadable).

    Reads and writes the tokens as stored (not through the field), and writes a row only if its token has
    not changed meanwhile (a secret rotated during the run keeps its new value). Running it again changes
    nothing: every token is then under the newest key.
    """
    as_stored = Cast(field, models.TextField())
    stored = queryset.exclude(**{field: ""}).annotate(_token=as_stored).values_list("pk", "_token")
    changed = current = unreadable = 0
    for pk, token in stored.iterator():
        if not token:
            continue
        if is_under_newest_key(token):
            current += 1
            continue
        try:
            fresh = reencrypt(token)
        except UndecryptableSecret:
            unreadable += 1
            continue
        changed += (
            queryset.model._base_manager.filter(pk=pk)
            .alias(_token=as_stored)
            .filter(_token=token)
            .update(**{field: Value(fresh, output_field=models.TextField())})
        )
    return changed, current, unreadable


class EncryptedTextField(models.TextField):
    """Text stored as a Fernet token and read back in clear; an empty value stays empty (nothing to hide).

    The token differs at every save, so the field cannot be filtered on: look rows up by other fields.
    """

    def from_db_value(self, value, expression, connection):
        if not value:
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)
