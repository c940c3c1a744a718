"""Append a signed checkpoint of the audit chain head to AUDIT_CHECKPOINT_PATH (beat runs it too)."""

from django.core.management.base import BaseCommand

from audit.checkpoints import audit_checkpoint_write, checkpoint_path


class Command(BaseCommand):
    help = "Sign the current head of the audit chain and append it to the checkpoint file."

    def handle(self, *args, **options):
        checkpoint = audit_checkpoint_write()
        if checkpoint is None:
            self.stdout.write("Nothing to checkpoint: the chain is empty or its head is already checkpointed.")
            return
        self.stdout.write(
            f"Checkpoint: row {checkpoint.head_id}, {checkpoint.events} events, hash {checkpoint.head_hash[:16]}… "
            f"→ {checkpoint_path()}"
        )
