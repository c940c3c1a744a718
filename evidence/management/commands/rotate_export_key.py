"""Rotate the export signing key: the current public key joins the keyring (bundles it signed still verify)."""

from django.core.management.base import BaseCommand

from audit.services import PLATFORM, audit_log
from evidence.keys import signing_key_rotate


class Command(BaseCommand):
    help = (
        "Make a new Ed25519 export signing key at EXPORT_SIGNING_KEY_PATH; the retired public key is kept in "
        "EXPORT_KEYRING_PATH and served by GET /api/v1/exports/keys, so earlier bundles keep verifying."
    )

    def handle(self, *args, **options):
        old, new = signing_key_rotate()
        audit_log(
            actor="system:cli",
            action="export.key_rotated",
            object_type="export_key",
            object_id=new[:64],
            payload={"retired_key_id": old, "key_id": new},
            organisation=PLATFORM,
        )
        self.stdout.write(self.style.SUCCESS(f"Export signing key rotated: {old} retired, {new} signs from now on."))
