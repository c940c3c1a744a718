"""Create an API key and print it once."""

from datetime import UTC, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.text import slugify

from apikeys.models import ApiKey
from apikeys.services import api_key_create
from organisations.cli import add_organisation_argument, organisation_from_option


def parse_expiry(value: str) -> datetime:
    """`30d`, `12h` (from now), `2027-01-31` (end of that day, UTC) or an ISO 8601 date-time."""
    value = value.strip()
    if value[:-1].isdigit() and value[-1:] in ("d", "h"):
        amount = int(value[:-1])
        return timezone.now() + (timedelta(days=amount) if value.endswith("d") else timedelta(hours=amount))
    day = parse_date(value)
    if day is not None:
        return datetime.combine(day, time.max, tzinfo=UTC)
    try:
        moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None:
        raise CommandError(f"--expires takes 30d, 12h, 2027-01-31 or an ISO 8601 date-time; got {value!r}.")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, UTC)


class Command(BaseCommand):
    help = "Create an API key; the key is printed once and only its hash is stored."

    def add_arguments(self, parser):
        add_organisation_argument(parser)
        parser.add_argument("--name", required=True)
        parser.add_argument("--source", help="Source the key ingests as (default: the name, slugified).")
        parser.add_argument(
            "--scopes", default="ingest,read,stream", help=f"Comma-separated, of: {', '.join(ApiKey.Scope.values)}"
        )
        parser.add_argument("--owner", help="Username of the key's owner.")
        expiry = parser.add_mutually_exclusive_group()
        expiry.add_argument("--expires", help="When the key stops working: 30d, 12h, 2027-01-31 or a date-time.")
        expiry.add_argument("--expires-days", type=int, help="Days until the key expires (default: never).")
        parser.add_argument("--rate-limit", default="", help="Requests per period for this key, e.g. 600/min.")

    def handle(self, *args, organisation, name, source, scopes, owner, expires, expires_days, rate_limit, **options):
        organisation = organisation_from_option(organisation)
        owner_user = None
        if owner:
            owner_user = get_user_model().objects.filter(username=owner, membership__organisation=organisation).first()
            if owner_user is None:
                raise CommandError(f"No user named {owner!r} in {organisation.slug}.")
        expires_at = None
        if expires:
            expires_at = parse_expiry(expires)
        elif expires_days:
            expires_at = timezone.now() + timedelta(days=expires_days)
        try:
            key, raw = api_key_create(
                organisation=organisation,
                name=name,
                source=source or slugify(name)[:64] or "default",
                scopes=[s.strip() for s in scopes.split(",") if s.strip()],
                owner=owner_user,
                expires_at=expires_at,
                rate_limit=rate_limit,
                actor="cli",
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        expiry_note = f", expires {key.expires_at:%Y-%m-%d %H:%M} UTC" if key.expires_at else ""
        self.stderr.write(
            f"Created API key {key.prefix}… for source {key.source!r} (scopes: {', '.join(key.scopes)}{expiry_note}); "
            "it is not shown again:"
        )
        self.stdout.write(raw)
