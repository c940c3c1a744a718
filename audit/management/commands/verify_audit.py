"""Check the audit chain end to end; exit status 1 names the first row that was changed or removed."""

from django.core.management.base import BaseCommand, CommandError

from audit.checkpoints import CheckpointFileError, audit_checkpoints_read, checkpoint_path
from audit.services import audit_verify


class Command(BaseCommand):
    help = (
        "Recompute every audit event's hash, follow the chain links and match the signed checkpoints "
        "(AUDIT_CHECKPOINT_PATH); fail on the first bad row."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=5000, help="Rows read per query (default 5000).")

    def handle(self, *args, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            checkpoints = audit_checkpoints_read()
        except CheckpointFileError as exc:
            raise CommandError(f"Audit checkpoints FAILED: {exc}") from None
        report = audit_verify(batch_size=batch_size, checkpoints=checkpoints)
        if not report.ok:
            raise CommandError(
                f"Audit chain FAILED at row {report.first_bad_id}: {report.reason} "
                f"({report.checked} events verified before it)."
            )
        anchored = f", {len(checkpoints)} signed checkpoints matched" if checkpoints else ""
        self.stdout.write(self.style.SUCCESS(f"Audit chain OK: {report.checked} events verified{anchored}."))
        if not checkpoints:
            self.stdout.write(f"No signed checkpoints yet in {checkpoint_path()}: run `manage.py audit_checkpoint`.")
