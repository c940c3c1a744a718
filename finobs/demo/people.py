"""The demo's organisations and people: a user per role and two analyst colleagues, teams and routing, and
an integrator's API key. Passwords and the key are new on every run, so every run prints working ones."""

import functools
import os
import secrets
from concurrent.futures import ThreadPoolExecutor

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django_otp.middleware import is_verified
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.services import organisation_create, second_factor_provision
from apikeys.models import ApiKey
from apikeys.services import api_key_create, api_key_revoke
from audit.services import audit_log
from cases.models import RoutingRule, Team
from finobs.demo import DEMO_SOURCE, Demo
from finobs.roles import ROLES, STAFF_ROLES, SYSTEM_ROLES
from kernel.mfa import second_factor_applies
from organisations.models import Membership, Organisation

ORGANISATION_ROLES = [role for role in ROLES if role != "platform" and role not in SYSTEM_ROLES]
# Analysts who work the month's cases alongside the demo's analyst, so closures come from different people.
COLLEAGUES = ("lena", "omar")
# The organisation the migrations make, and a second one: (slug, name, username prefix, traffic seed offset).
DEMO_ORGANISATIONS = [
    ("default", "Northwind bank", "", 0),
    ("harbour", "Harbour credit union", "harbour-", 1),
]
# What each role can do, in one line for the banner.
ROLE_SUMMARY = {
    "viewer": "reads cases and dashboards, changes nothing",
    "analyst": "works the case queue: triage, investigate, comment, escalate, propose closures",
    "compliance": "approves closures and SAR filings (four-eyes), runs models, drift and experiments",
    "org_admin": "runs the organisation in admin: people, teams, API keys, callbacks, pull sources",
    "platform": "manages organisations in admin; sees no organisation's data unless entering one for support",
}


# The demo banks' case SLA policy (hours by severity): a fraud team's, long enough that a live queue of the
# last days' cases is within it (the shipped default gives a high-severity case a day).
SLA_POLICY = {"critical": 72, "high": 168}


def organisation(slug: str, name: str) -> Organisation:
    """The organisation, created or brought in line (its name, its SLA policy) as an admin would in admin."""
    found = Organisation.objects.filter(slug=slug).first()
    if found is None:
        return organisation_create(name=name, slug=slug, actor="demo", settings={"CASE_SLA_HOURS": SLA_POLICY})
    changed = {"name": name, "settings": {**found.settings, "CASE_SLA_HOURS": SLA_POLICY}}
    if any(getattr(found, field) != value for field, value in changed.items()):
        for field, value in changed.items():
            setattr(found, field, value)
        found.full_clean()
        found.save(update_fields=list(changed))
        audit_log(actor="demo", action="organisation.changed", object_type="organisation", object_id=found.slug,
                  payload={"fields": list(changed), "settings": found.settings}, organisation=found)  # fmt: skip
    return found


def new_passwords(usernames: list[str]) -> dict[str, tuple[str, str]]:
    """A new password for each of `usernames`, with its hash: (password, encoded). Hashing is deliberately slow
    (PBKDF2, most of a second each on a busy 2-core machine) and releases the GIL, so the hashes are made side by
    side, one thread per core: the demo's re-run, and with it the second start, takes that much less."""
    passwords = {username: secrets.token_urlsafe(12) for username in usernames}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        encoded = dict(zip(passwords, pool.map(make_password, passwords.values()), strict=True))
    return {username: (passwords[username], encoded[username]) for username in usernames}


def person(username: str, *, role: str, organisation: Organisation | None, password: tuple[str, str] | None) -> tuple:
    """The user (created or brought in line) with `password` (from new_passwords), or none they can sign in with;
    returns (user, password, second factor)."""
    user_model = get_user_model()
    with transaction.atomic():
        user, _ = user_model.objects.get_or_create(username=username, defaults={"email": f"{username}@demo.finobs"})
        if password is None:
            user.set_unusable_password()
        else:
            user.password = password[1]
        user.is_staff = role in STAFF_ROLES
        user.save()
        user.groups.set([Group.objects.get(name=role)])
        if organisation is not None:
            Membership.objects.update_or_create(user=user, defaults={"organisation": organisation})
        else:
            Membership.objects.filter(user=user).delete()
    second_factor = second_factor_provision(user=user) if second_factor_applies(user) else None
    return user, password and password[0], second_factor


def usernames(prefix: str) -> list[str]:
    """The demo users who sign in, of the organisation whose usernames start with `prefix`."""
    return [f"{prefix}{role}" for role in ORGANISATION_ROLES]


def signed_in(user):
    """`user` as a request would carry them after signing in with their authenticator (django-otp's
    middleware does the same), so the four-eyes decisions they make in the replay pass the second-factor check."""
    user.otp_device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    user.is_verified = functools.partial(is_verified, user)
    return user


def people(demo: Demo) -> str:
    """A user for every role, with the new passwords, and two analyst colleagues (who do not sign in)."""
    lines = []
    for role in ORGANISATION_ROLES:
        username = f"{demo.prefix}{role}"
        user, password, second_factor = person(
            username, role=role, organisation=demo.organisation, password=demo.new_passwords[username]
        )
        demo.users[role] = signed_in(user) if second_factor else user
        demo.passwords[username] = password
        lines.append(_line(username, password, second_factor, ROLE_SUMMARY[role]))
    for name in COLLEAGUES:
        username = f"{demo.prefix}{name}"
        demo.users[name], _, _ = person(username, role="analyst", organisation=demo.organisation, password=None)
    lines.append(
        f"  {'':<19} and analyst colleagues {', '.join(f'{demo.prefix}{n}' for n in COLLEAGUES)}, whose work fills "
        "the history (they do not sign in)"
    )
    return "\n".join(lines)


def _line(username: str, password: str, second_factor, summary: str) -> str:
    line = f"  {username:<19} password {password:<18} {summary}"
    if second_factor:
        secret, codes = second_factor
        line += (
            f"\n  {'':<19} second factor: authenticator secret {secret}, or a backup code (each works once, new "
            f"every run): {' '.join(codes[:5])}"
        )
    return line


def teams(demo: Demo) -> str:
    """Two case queues: critical cases go to AML investigations, the rest to fraud operations."""
    aml, _ = Team.objects.get_or_create(slug="aml", defaults={"name": "AML investigations"})
    fraud, _ = Team.objects.get_or_create(slug="fraud-ops", defaults={"name": "Fraud operations"})
    RoutingRule.objects.get_or_create(
        name="Critical to AML", defaults={"team": aml, "priority": 10, "min_severity": "critical"}
    )
    RoutingRule.objects.get_or_create(name="Everything else", defaults={"team": fraud, "priority": 100})
    analysts = [demo.users["analyst"], *(demo.users[n] for n in COLLEAGUES)]
    fraud.members.add(*analysts, demo.users["viewer"])
    aml.members.add(*analysts)
    demo.teams = {"aml": aml, "fraud-ops": fraud}
    return "  Teams: the analysts work Fraud operations and AML investigations; viewer reads Fraud operations."


def api_key(demo: Demo) -> str:
    """The integrator's key, rotated: the one printed last run is revoked and a new one printed."""
    for key in ApiKey.objects.filter(source=DEMO_SOURCE, name="demo integrator", revoked_at__isnull=True):
        api_key_revoke(key=key, actor="demo")
    _, demo.api_key = api_key_create(
        organisation=demo.organisation,
        name="demo integrator",
        source=DEMO_SOURCE,
        scopes=["ingest", "read", "stream"],
        actor="demo",
    )
    return f"  API key (new every run; the last one is revoked): {demo.api_key}"
