"""Verify an evidence bundle: signature against the trusted keys, every member's hash, no missing or extra
member, no unsafe path, and the audit events it holds. Exit status 0 when it verifies, 1 when it does not."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from evidence.keys import trusted_keys
from evidence.verifier import load_trusted_keys, verify_bundle


class Command(BaseCommand):
    help = (
        "Verify a signed evidence bundle (case, SAR package, audit trail, transactions, archive). Trusts this "
        "deployment's current and retired export keys, or only the keys given with --key."
    )

    def add_arguments(self, parser):
        parser.add_argument("bundle", type=Path)
        parser.add_argument(
            "--key",
            action="append",
            type=Path,
            default=[],
            help="Trust only this public key (PEM, or the JSON of GET /api/v1/exports/keys); repeatable.",
        )

    def handle(self, *args, bundle: Path, key: list[Path], **options):
        try:
            trusted = load_trusted_keys(key) if key else trusted_keys()
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CommandError(f"Cannot read the trusted keys: {exc}") from None
        if not bundle.is_file():
            raise CommandError(f"FAILED: {bundle} is not a file.")
        verdict = verify_bundle(bundle, trusted)
        if not verdict.ok:
            raise CommandError(verdict.summary())
        self.stdout.write(self.style.SUCCESS(verdict.summary()))
