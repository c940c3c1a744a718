"""Check the audit chain end to end; exit status 1 names the first row that was changed or removed."""

from django.core.management.base import BaseCommand, CommandError

from audit.services import audit_verify


class Command(BaseCommand):
    help = "Recompute every audit event's hash and follow the chain links; fail on the first bad row."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=5000, help="Rows read per query (default 5000).")

    def handle(self, *args, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        report = audit_verify(batch_size=batch_size)
        if not report.ok:
            raise CommandError(
                f"Audit chain FAILED at row {report.first_bad_id}: {report.reason} "
                f"({report.checked} events verified before it)."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain OK: {report.checked} events verified."))
