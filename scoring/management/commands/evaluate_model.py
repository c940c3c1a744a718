"""Measure a registered model version (the champion by default) with the active rules on fresh generated traffic."""

from django.core.management.base import BaseCommand, CommandError

from scoring.evaluation import evaluate_scorer, holdout_set, serving_rules
from scoring.inference import scorer_for
from scoring.models import ModelVersion

DEFAULT_SEED = 20_261_123  # not a training or held-out seed of any shipped model


class Command(BaseCommand):
    help = "Evaluate a model version plus the active rules on a freshly generated, labelled held-out set."

    def add_arguments(self, parser):
        parser.add_argument(
            "--model-version", dest="model_version", type=int, help="Model version (default: the champion)."
        )
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Seed of the generated held-out set.")
        parser.add_argument("--accounts", type=int, default=1000)
        parser.add_argument("--days", type=int, default=30)

    def handle(self, *args, model_version: int | None, seed, accounts, days, **options):
        versions = ModelVersion.objects.all()
        model_version = (
            versions.filter(version=model_version).first()
            if model_version
            else versions.filter(status=ModelVersion.Status.CHAMPION).first()
        )
        if model_version is None:
            raise CommandError("No such model version (train one with `manage.py train_model`).")
        if model_version.params.get("training_data", {}).get("seed") == seed:
            raise CommandError("Pick a seed the model was not trained on.")
        generated = holdout_set(n_accounts=accounts, days=days, seed=seed)
        result = evaluate_scorer(scorer_for(model_version), generated, rules=serving_rules())
        self.stdout.write(
            f"Model v{model_version.version} ({model_version.algorithm}) on {len(generated):,} generated "
            f"transactions (seed {seed}, {int(generated.labels.sum()):,} injected fraud):"
        )
        write_metrics(self.stdout, "model alone", result["model"])
        write_metrics(self.stdout, "model + rules", result["model_and_rules"])


def write_metrics(out, title: str, m: dict) -> None:
    out.write(
        f"  {title:14s} precision {m['precision']:.3f}  recall {m['recall']:.3f}  F1 {m['f1']:.3f}  "
        f"PR-AUC {m['pr_auc']:.3f}  alert rate {m['alert_rate']:.2%}  "
        f"recall at a {m['alert_budget']:.0%} alert budget {m['recall_at_budget']:.3f}"
    )
    for pattern, recall in m.get("recall_by_pattern", {}).items():
        out.write(f"      recall on {pattern}: {recall:.3f}")
