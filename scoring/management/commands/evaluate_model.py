"""Measure a registered model version (the champion by default) with the active rules on fresh generated traffic."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from scoring.evaluation import evaluate_scorer, evaluate_stress, holdout_set, serving_rules, stress_set
from scoring.inference import scorer_for
from scoring.models import ModelVersion

DEFAULT_SEED = 20_261_123  # not a training or held-out seed of any shipped model
TRAINING_GENERATOR = "scoring.generator"


class Command(BaseCommand):
    help = "Evaluate a model version plus the active rules on a freshly generated, labelled held-out set."

    def add_arguments(self, parser):
        parser.add_argument(
            "--model-version", dest="model_version", type=int, help="Model version (default: the champion)."
        )
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Seed of the generated held-out set.")
        parser.add_argument("--accounts", type=int, default=1000)
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument(
            "--stress",
            action="store_true",
            help="Measure on the independent stress generator (scoring.stress) instead: other currencies, amount "
            "scales, activity and merchant mixes, mule fan-in and fan-out. Without a champion, the shipped "
            "default model is measured.",
        )
        parser.add_argument(
            "--supervised",
            action="store_true",
            help="With --stress: measure the shipped default model's training plus the supervised classifier "
            "fitted on the training generator's labels (trained now; nothing is registered).",
        )

    def handle(self, *args, model_version: int | None, seed, accounts, days, stress, supervised, **options):
        if supervised and (not stress or model_version):
            raise CommandError("--supervised goes with --stress, without --model-version.")
        versions = ModelVersion.objects.all()
        requested = model_version
        model_version = (
            versions.filter(version=model_version).first()
            if model_version
            else versions.filter(status=ModelVersion.Status.CHAMPION).first()
        )
        if stress:
            return self.handle_stress(
                requested, None if supervised else model_version, seed=seed, accounts=accounts, days=days,
                supervised=supervised,
            )  # fmt: skip
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

    def handle_stress(self, requested, model_version, *, seed: int, accounts: int, days: int, supervised=False) -> None:
        if model_version is None and requested:
            raise CommandError(f"No model version {requested}.")
        from scoring.services.registry import synthetic_model_fields, unsaved_scorer

        if supervised:
            spec = settings.DEFAULT_MODEL_TRAINING
            fields = synthetic_model_fields(
                n_accounts=spec["n_accounts"], days=spec["days"], seed=spec["seed"],
                n_estimators=spec["n_estimators"], fraud_rate=spec.get("fraud_rate", 0.015), supervised=True,
            )  # fmt: skip
            scorer = unsaved_scorer(fields)
            name = "the default model's training with the supervised classifier on the generator's labels"
            training = fields["params"]["training_data"]
        elif model_version is None:
            from scoring.default_model import default_model_fields

            fields = default_model_fields()
            scorer, name = unsaved_scorer(fields), "the shipped default model"
            training = fields["params"].get("training_data", {})
        else:
            scorer, name = scorer_for(model_version), f"model v{model_version.version}"
            training = model_version.params.get("training_data", {})
        if training.get("generator") != TRAINING_GENERATOR:
            raise CommandError(
                f"{name} was not trained on {TRAINING_GENERATOR} alone; the stress report measures models that were."
            )
        generated = stress_set(n_accounts=accounts, days=days, seed=seed)
        result = evaluate_stress(scorer, generated, rules=serving_rules())
        write_stress(self.stdout, name, seed, result)


def write_stress(out, name: str, seed: int, r: dict) -> None:
    out.write(
        f"Stress set (seed {seed}): {r['n']:,} transactions, {r['n_fraud']:,} injected fraud; {name}, "
        f"trained on {TRAINING_GENERATOR} only."
    )
    out.write(f"  {'pattern':20s} {'recall':>7s}")
    for pattern, recall in r["recall_by_pattern"].items():
        out.write(f"  {pattern:20s} {recall:7.3f}")
    out.write(f"  {'overall':20s} {r['recall']:7.3f}   precision {r['precision']:.3f}")
    filled = r["window_filled_day"]
    out.write(
        f"  thresholds from training until the window filled (day {filled}), then recalibrated daily: "
        f"{r['recalibrations']} recalibrations, {r['approvals']} beyond the four-eyes bound (counted approved)"
    )
    out.write(
        f"  alert rate once filled ({r['n_after_fill']:,} decisions): model {r['model_alert_rate']:.2%} "
        f"(ALERT_BUDGET {r['alert_budget']:.2%}), rules add {r['rules_added_rate']:.2%} "
        f"(RULES_ALERT_BUDGET {settings.RULES_ALERT_BUDGET:.2%}), together {r['alert_rate']:.2%}"
    )
    high = r["training_thresholds"]["high"], r["thresholds"]["high"]
    out.write(f"  HIGH threshold: {high[0]:.4f} from training, {high[1]:.4f} at the end")


def write_metrics(out, title: str, m: dict) -> None:
    out.write(
        f"  {title:14s} precision {m['precision']:.3f}  recall {m['recall']:.3f}  F1 {m['f1']:.3f}  "
        f"PR-AUC {m['pr_auc']:.3f}  alert rate {m['alert_rate']:.2%}  "
        f"recall at a {m['alert_budget']:.0%} alert budget {m['recall_at_budget']:.3f}"
    )
    for pattern, recall in m.get("recall_by_pattern", {}).items():
        out.write(f"      recall on {pattern}: {recall:.3f}")
