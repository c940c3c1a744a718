"""Append a signed checkpoint of audit chain heads to AUDIT_CHECKPOINT_PATH (beat runs it too)."""

from django.core.management.base import BaseCommand

from audit.checkpoints import audit_checkpoint_write, checkpoint_path
from audit.services import PLATFORM
from organisations.cli import add_organisation_argument, organisations_from_option


class Command(BaseCommand):
    help = "Sign the current head of one organisation's audit chain, or of each, and append it to the checkpoint file."

    def add_arguments(self, parser):
        add_organisation_argument(parser, every=True)

    def handle(self, *args, organisation: str | None, **options):
        for each in organisations_from_option(organisation) + ([] if organisation else [None]):
            name = each.slug if each is not None else "platform"
            checkpoint = audit_checkpoint_write(organisation=each or PLATFORM)
            if checkpoint is None:
                self.stdout.write(f"{name}: nothing to checkpoint (empty, or its head is checkpointed).")
                continue
            self.stdout.write(
                f"{name}: checkpoint of row {checkpoint.head_id}, {checkpoint.events} events, "
                f"hash {checkpoint.head_hash[:16]}… → {checkpoint_path()}"
            )
