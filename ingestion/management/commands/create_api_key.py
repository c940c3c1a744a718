"""Create an API key and print it once."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.text import slugify

from ingestion.models import ApiKey
from ingestion.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key; the key is printed once and only its hash is stored."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--source", help="Source the key ingests as (default: the name, slugified).")
        parser.add_argument(
            "--scopes", default="ingest,read,stream", help=f"Comma-separated, of: {', '.join(ApiKey.Scope.values)}"
        )
        parser.add_argument("--owner", help="Username of the key's owner.")
        parser.add_argument("--expires-days", type=int, help="Days until the key expires (default: never).")

    def handle(self, *args, name, source, scopes, owner, expires_days, **options):
        owner_user = None
        if owner:
            owner_user = get_user_model().objects.filter(username=owner).first()
            if owner_user is None:
                raise CommandError(f"No user named {owner!r}.")
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        try:
            key, raw = api_key_create(
                name=name,
                source=source or slugify(name)[:64] or "default",
                scopes=[s.strip() for s in scopes.split(",") if s.strip()],
                owner=owner_user,
                expires_at=expires_at,
                actor="cli",
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stderr.write(f"Created API key {key.prefix}… for source {key.source!r}; it is not shown again:")
        self.stdout.write(raw)
