"""Set up a working demo: roles' users, a trained champion model, an API key and generated traffic."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.services import second_factor_provision
from apikeys.models import ApiKey
from apikeys.services import api_key_create
from cases.models import RoutingRule, Team
from finobs.roles import ROLES, STAFF_ROLES
from ingestion.services import ingest
from kernel.mfa import second_factor_applies
from scoring.generator import generate
from scoring.models import ModelVersion
from scoring.services import model_train

DEMO_SOURCE = "demo"
CHUNK = 2000


class Command(BaseCommand):
    help = "Create demo users for every role (passwords printed), train a model if none, ingest generated traffic."

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=300)
        parser.add_argument("--days", type=int, default=7)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, accounts, days, seed, **options):
        self._users()
        self._teams()
        if not ModelVersion.objects.filter(status=ModelVersion.Status.CHAMPION).exists():
            self.stdout.write("Training the default model (IsolationForest + PCA autoencoder, one ONNX graph)...")
            version = model_train(actor="demo")
            self.stdout.write(f"  champion is model v{version.version}: {version.metrics}")
        self._api_key()
        self._traffic(accounts=accounts, days=days, seed=seed)

    def _users(self):
        user_model = get_user_model()
        self.stdout.write("Demo users (passwords are reset each time this runs):")
        for role in ROLES:
            password = secrets.token_urlsafe(12)
            with transaction.atomic():
                user, _ = user_model.objects.get_or_create(username=role, defaults={"email": f"{role}@demo.finobs"})
                user.set_password(password)
                user.is_staff = role in STAFF_ROLES
                user.save()
                user.groups.set([Group.objects.get(name=role)])
            self.stdout.write(f"  {role:<11} password {password}")
            if second_factor_applies(user):
                secret, codes = second_factor_provision(user=user)
                self.stdout.write(f"  {'':<11} second factor: authenticator secret {secret}, or a backup code:")
                self.stdout.write(f"  {'':<11} {' '.join(codes[:5])}  (each works once; new ones every run)")

    def _teams(self):
        """Two case queues: critical cases go to AML investigations, the rest to fraud operations."""
        aml, _ = Team.objects.get_or_create(slug="aml", defaults={"name": "AML investigations"})
        fraud, _ = Team.objects.get_or_create(slug="fraud-ops", defaults={"name": "Fraud operations"})
        RoutingRule.objects.get_or_create(
            name="Critical to AML", defaults={"team": aml, "priority": 10, "min_severity": "critical"}
        )
        RoutingRule.objects.get_or_create(name="Everything else", defaults={"team": fraud, "priority": 100})
        users = {u.username: u for u in get_user_model().objects.filter(username__in=["analyst", "viewer"])}
        fraud.members.add(users["analyst"], users["viewer"])
        aml.members.add(users["analyst"])
        self.stdout.write(
            "Teams: analyst works Fraud operations and AML investigations; viewer reads Fraud operations."
        )

    def _api_key(self):
        if ApiKey.objects.filter(source=DEMO_SOURCE, revoked_at__isnull=True).exists():
            self.stdout.write("Demo API key exists (create another with: manage.py create_api_key --name NAME).")
            return
        _, raw = api_key_create(name="demo integrator", source=DEMO_SOURCE, scopes=["ingest", "read", "stream"])
        self.stdout.write(f"Demo API key (shown once): {raw}")

    def _traffic(self, *, accounts: int, days: int, seed: int):
        generated = generate(n_accounts=accounts, days=days, seed=seed)
        accepted = flagged = duplicates = 0
        for start in range(0, len(generated.records), CHUNK):
            result = ingest(generated.records[start : start + CHUNK], source=DEMO_SOURCE, actor="demo")
            accepted += result.accepted
            flagged += result.flagged
            duplicates += len(result.duplicates)
        self.stdout.write(
            f"Ingested {accepted} generated transactions ({flagged} flagged, {duplicates} already there)."
        )
