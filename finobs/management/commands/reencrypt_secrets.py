"""Re-encrypt every stored secret under the newest FIELD_ENCRYPTION_KEYS key, before an old key is dropped."""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from kernel.encryption import EncryptedTextField, reencrypt_field
from organisations.cli import add_organisation_argument, organisations_from_option
from organisations.context import organisation_context


class Command(BaseCommand):
    help = (
        "Re-encrypt the stored secrets (callback signing secrets, pull-source credentials) under the newest "
        "key of FIELD_ENCRYPTION_KEYS. Safe to run again; run it before removing an old key."
    )

    def add_arguments(self, parser):
        add_organisation_argument(parser, every=True)

    def handle(self, *args, organisation=None, **options):
        fields = [
            (model, field.name)
            for model in apps.get_models()
            for field in model._meta.concrete_fields
            if isinstance(field, EncryptedTextField)
        ]
        totals = {f"{model._meta.label}.{name}": [0, 0, 0] for model, name in fields}
        for each in organisations_from_option(organisation):
            with organisation_context(each):
                for model, name in fields:
                    counts = reencrypt_field(model._default_manager.all(), name)
                    totals[f"{model._meta.label}.{name}"] = [
                        a + b for a, b in zip(totals[f"{model._meta.label}.{name}"], counts, strict=True)
                    ]
        for label, (changed, current, unreadable) in totals.items():
            line = f"{label}: {changed} re-encrypted, {current} already under the newest key"
            self.stdout.write(line + (f", {unreadable} unreadable" if unreadable else ""))
        unreadable = sum(counts[2] for counts in totals.values())
        if unreadable:
            raise CommandError(
                f"{unreadable} stored secret(s) cannot be decrypted with FIELD_ENCRYPTION_KEYS: put back the key "
                "they were encrypted with (anywhere after the first) and run this again."
            )
