"""Train the ensemble (IsolationForest + PCA autoencoder) on generated traffic, register it, promote it."""

from django.core.management.base import BaseCommand, CommandError

from scoring.management.commands.evaluate_model import write_metrics
from scoring.services import model_train


class Command(BaseCommand):
    help = "Train a model on synthetic traffic, evaluate it on a held-out set, register it and promote it."

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=2000, help="Accounts to simulate (default 2000).")
        parser.add_argument("--days", type=int, default=30, help="Days of traffic to simulate (default 30).")
        parser.add_argument("--seed", type=int, default=7, help="Random seed of the training data and model.")
        parser.add_argument("--trees", type=int, default=100, help="IsolationForest trees (default 100).")
        parser.add_argument(
            "--supervised",
            action="store_true",
            help="Also fit the supervised classifier on the generator's labels (every injected fraud known).",
        )
        parser.add_argument(
            "--no-promote", action="store_true", help="Register as a candidate; keep the current champion."
        )

    def handle(self, *args, accounts, days, seed, trees, no_promote, supervised, **options):
        if accounts < 1 or days < 1 or trees < 1:
            raise CommandError("--accounts, --days and --trees must be at least 1.")
        self.stdout.write(f"Training on {accounts} accounts x {days} days (seed {seed}, {trees} trees)...")
        model_version = model_train(
            n_accounts=accounts,
            days=days,
            seed=seed,
            n_estimators=trees,
            make_champion=not no_promote,
            actor="system:train_model",
            supervised=supervised,
        )
        metrics = model_version.metrics
        holdout = metrics["holdout"]
        self.stdout.write(
            self.style.SUCCESS(
                f"Registered model v{model_version.version} ({model_version.status}): "
                f"{model_version.training_size:,} training transactions, {metrics['total_seconds']} s."
            )
        )
        self.stdout.write(
            f"Held-out set ({holdout['n']:,} transactions, {holdout['n_fraud']:,} injected fraud), "
            f"flagging at HIGH (score >= {model_version.thresholds['high']:.4f}):"
        )
        write_metrics(self.stdout, "model + rules", holdout)
        write_metrics(self.stdout, "model alone", metrics["holdout_model_only"])
