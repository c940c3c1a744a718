"""Set up a working demo: two organisations, each with users for every role, teams, a champion model, an
API key and generated traffic; and a platform staff user who manages both and sees neither's data."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.services import organisation_create, second_factor_provision
from apikeys.models import ApiKey
from apikeys.services import api_key_create
from cases.models import RoutingRule, Team
from finobs.roles import ROLES, STAFF_ROLES
from ingestion.services import ingest
from kernel.mfa import second_factor_applies
from organisations.context import organisation_context
from organisations.models import Membership, Organisation
from scoring.generator import generate
from scoring.models import ModelVersion
from scoring.services import model_install_default

DEMO_SOURCE = "demo"
CHUNK = 2000
ORGANISATION_ROLES = [role for role in ROLES if role != "platform"]
# The organisation the migrations make, and a second one: (slug, name, username prefix, traffic seed offset).
DEMO_ORGANISATIONS = [
    ("default", "Northwind bank", "", 0),
    ("harbour", "Harbour credit union", "harbour-", 1),
]


class Command(BaseCommand):
    help = (
        "Create two demo organisations with users for every role (passwords printed), teams, a model, an API key "
        "and generated traffic, and a platform staff user."
    )

    def add_arguments(self, parser):
        parser.add_argument("--accounts", type=int, default=300)
        parser.add_argument("--days", type=int, default=7)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, accounts, days, seed, **options):
        self.stdout.write("Demo users (passwords are reset each time this runs):")
        self._user("platform", role="platform", organisation=None)
        for slug, name, prefix, offset in DEMO_ORGANISATIONS:
            organisation = self._organisation(slug, name)
            self.stdout.write(f"{name} ({slug}):")
            with organisation_context(organisation):
                users = {role: self._user(f"{prefix}{role}", role=role, organisation=organisation)
                         for role in ORGANISATION_ROLES}  # fmt: skip
                self._teams(users)
                if not ModelVersion.objects.filter(status=ModelVersion.Status.CHAMPION).exists():
                    self.stdout.write("  Installing the default model (IsolationForest + PCA autoencoder)...")
                    version = model_install_default(actor="demo")
                    self.stdout.write(f"  champion is model v{version.version}")
                self._api_key(organisation)
                self._traffic(organisation, accounts=accounts, days=days, seed=seed + offset)
        self.stdout.write(
            "Each organisation's people see only its data; platform manages organisations in admin and enters one "
            "for support at /accounts/support/ (with a reason its admins see)."
        )

    def _organisation(self, slug: str, name: str) -> Organisation:
        organisation = Organisation.objects.filter(slug=slug).first()
        if organisation is None:
            return organisation_create(name=name, slug=slug, actor="demo")
        if organisation.name != name:
            organisation.name = name
            organisation.save(update_fields=["name"])
        return organisation

    def _user(self, username: str, *, role: str, organisation: Organisation | None):
        user_model = get_user_model()
        password = secrets.token_urlsafe(12)
        with transaction.atomic():
            user, _ = user_model.objects.get_or_create(username=username, defaults={"email": f"{username}@demo.finobs"})
            user.set_password(password)
            user.is_staff = role in STAFF_ROLES
            user.save()
            user.groups.set([Group.objects.get(name=role)])
            if organisation is not None:
                Membership.objects.update_or_create(user=user, defaults={"organisation": organisation})
            else:
                Membership.objects.filter(user=user).delete()
        self.stdout.write(f"  {username:<19} password {password}")
        if second_factor_applies(user):
            secret, codes = second_factor_provision(user=user)
            self.stdout.write(f"  {'':<19} second factor: authenticator secret {secret}, or a backup code:")
            self.stdout.write(f"  {'':<19} {' '.join(codes[:5])}  (each works once; new ones every run)")
        return user

    def _teams(self, users: dict):
        """Two case queues: critical cases go to AML investigations, the rest to fraud operations."""
        aml, _ = Team.objects.get_or_create(slug="aml", defaults={"name": "AML investigations"})
        fraud, _ = Team.objects.get_or_create(slug="fraud-ops", defaults={"name": "Fraud operations"})
        RoutingRule.objects.get_or_create(
            name="Critical to AML", defaults={"team": aml, "priority": 10, "min_severity": "critical"}
        )
        RoutingRule.objects.get_or_create(name="Everything else", defaults={"team": fraud, "priority": 100})
        fraud.members.add(users["analyst"], users["viewer"])
        aml.members.add(users["analyst"])
        self.stdout.write(
            "  Teams: analyst works Fraud operations and AML investigations; viewer reads Fraud operations."
        )

    def _api_key(self, organisation: Organisation):
        if ApiKey.objects.filter(source=DEMO_SOURCE, revoked_at__isnull=True).exists():
            self.stdout.write("  Demo API key exists (create another with: manage.py create_api_key --name NAME).")
            return
        _, raw = api_key_create(
            organisation=organisation, name="demo integrator", source=DEMO_SOURCE, scopes=["ingest", "read", "stream"]
        )
        self.stdout.write(f"  Demo API key (shown once): {raw}")

    def _traffic(self, organisation: Organisation, *, accounts: int, days: int, seed: int):
        generated = generate(n_accounts=accounts, days=days, seed=seed)
        accepted = flagged = duplicates = 0
        for start in range(0, len(generated.records), CHUNK):
            chunk = generated.records[start : start + CHUNK]
            result = ingest(chunk, organisation=organisation, source=DEMO_SOURCE, actor="demo")
            accepted += result.accepted
            flagged += result.flagged
            duplicates += len(result.duplicates)
        self.stdout.write(
            f"  Ingested {accepted} generated transactions ({flagged} flagged, {duplicates} already there)."
        )
