"""Make the shipped default model the champion of organisations whose champion this code cannot serve."""

from django.core.management.base import BaseCommand

from organisations.cli import add_organisation_argument, organisations_from_option
from organisations.context import organisation_context
from scoring.features import FEATURE_NAMES
from scoring.models import ModelVersion
from scoring.services import model_install_default


class Command(BaseCommand):
    help = (
        "Register the shipped default model as champion where the champion was trained on another feature list "
        "(after an upgrade that changed the features) or there is none. --force: everywhere named."
    )

    def add_arguments(self, parser):
        add_organisation_argument(parser, every=True)
        parser.add_argument("--force", action="store_true", help="Replace a champion this code can serve too.")

    def handle(self, *args, organisation, force, **options):
        for org in organisations_from_option(organisation):
            with organisation_context(org):
                champion = (
                    ModelVersion.objects.filter(status=ModelVersion.Status.CHAMPION)
                    .only("version", "feature_names")
                    .first()
                )
                if champion is not None and list(champion.feature_names) == list(FEATURE_NAMES) and not force:
                    self.stdout.write(f"{org.slug}: champion v{champion.version} serves this code's features, kept")
                    continue
                version = model_install_default(actor="system:install_default_model")
                self.stdout.write(self.style.SUCCESS(f"{org.slug}: the default model is champion v{version.version}"))
