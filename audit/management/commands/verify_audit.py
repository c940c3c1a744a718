"""Check audit chains end to end; exit status 1 names the first row that was changed or removed."""

from django.core.management.base import BaseCommand, CommandError

from audit.checkpoints import CheckpointFileError, audit_checkpoints_read, checkpoint_path, latest_archive
from audit.services import PLATFORM, audit_verify
from organisations.cli import add_organisation_argument, organisations_from_option


class Command(BaseCommand):
    help = (
        "Recompute every audit event's hash, follow the chain links and match the signed checkpoints "
        "(AUDIT_CHECKPOINT_PATH) of one organisation's chain, or of each and the platform's; fail on the first bad row."
    )

    def add_arguments(self, parser):
        add_organisation_argument(parser, every=True)
        parser.add_argument("--batch-size", type=int, default=5000, help="Rows read per query (default 5000).")

    def handle(self, *args, organisation: str | None, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            checkpoints = audit_checkpoints_read()
        except CheckpointFileError as exc:
            raise CommandError(f"Audit checkpoints FAILED: {exc}") from None
        chains = organisations_from_option(organisation) + ([] if organisation else [None])
        for each in chains:
            name = each.slug if each is not None else "the platform"
            report = audit_verify(organisation=each or PLATFORM, batch_size=batch_size, checkpoints=checkpoints)
            if not report.ok:
                raise CommandError(
                    f"Audit chain of {name} FAILED at row {report.first_bad_id}: {report.reason} "
                    f"({report.checked} events verified before it)."
                )
            matched = sum(1 for c in checkpoints if c.organisation_id == getattr(each, "pk", None) and not c.archived)
            anchored = f", {matched} signed checkpoints matched" if matched else ""
            archive = latest_archive(getattr(each, "pk", None), checkpoints)
            if archive:
                anchored += (
                    f", continuing the archived segment of {archive.events} events up to row {archive.head_id} "
                    f"(bundle {archive.bundle_sha256[:16]}…, check it with verify_bundle)"
                )
            self.stdout.write(
                self.style.SUCCESS(f"Audit chain of {name} OK: {report.checked} events verified{anchored}.")
            )
        if not checkpoints:
            self.stdout.write(f"No signed checkpoints yet in {checkpoint_path()}: run `manage.py audit_checkpoint`.")
