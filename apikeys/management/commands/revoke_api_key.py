"""Revoke an API key by its prefix (the 8 characters after `fo_`)."""

from django.core.management.base import BaseCommand, CommandError

from apikeys.models import ApiKey
from apikeys.services import api_key_revoke


class Command(BaseCommand):
    help = "Revoke an API key by its prefix; it stops working at once. Revocation is audited."

    def add_arguments(self, parser):
        parser.add_argument("prefix", help="The key's prefix, as shown in admin (or the whole key).")

    def handle(self, *args, prefix, **options):
        prefix = prefix.strip()
        if prefix.startswith("fo_"):
            prefix = prefix.split("_", 2)[1]
        key = ApiKey.objects.filter(prefix=prefix).first()
        if key is None:
            raise CommandError(f"No API key with prefix {prefix!r}.")
        if key.revoked_at is not None:
            self.stdout.write(f"API key {key.prefix}… ({key.name}) was already revoked ({key.revoked_at:%Y-%m-%d}).")
            return
        api_key_revoke(key=key, actor="cli")
        self.stdout.write(f"Revoked API key {key.prefix}… ({key.name}).")
