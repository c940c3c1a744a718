"""The roles migration: four groups, named permissions, and what each role may and may not do."""

import pytest
from django.contrib.auth.models import Group, Permission

from finobs.roles import ROLES

pytestmark = pytest.mark.django_db


def test_four_groups_with_at_least_25_permissions():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        "viewer",
        "analyst",
        "compliance",
        "org_admin",
        "platform",
    }
    assert Permission.objects.filter(group__name__in=ROLES).distinct().count() >= 25
    for role, names in ROLES.items():
        assert Group.objects.get(name=role).permissions.count() == len(set(names))


@pytest.mark.parametrize(
    ("role", "allowed", "refused"),
    [
        ("viewer", ["cases.view_case", "scoring.view_live_decisions"], ["cases.work_case", "scoring.view_explanation"]),
        ("analyst", ["cases.work_case", "cases.propose_closure"], ["cases.approve_closure", "scoring.promote_model"]),
        (
            "compliance",
            ["cases.approve_closure", "scoring.promote_model", "audit.verify_audit"],
            ["apikeys.manage_keys"],
        ),
        ("org_admin", ["apikeys.manage_keys", "auth.change_user", "cases.approve_closure"], ["auth.change_group"]),
    ],
)
def test_role_permissions(make_user, role, allowed, refused):
    user = make_user(role)
    for perm in allowed:
        assert user.has_perm(perm), perm
    for perm in refused:
        assert not user.has_perm(perm), perm


def test_roles_are_nested():
    viewer, analyst, compliance, admin = (set(ROLES[r]) for r in ("viewer", "analyst", "compliance", "org_admin"))
    assert viewer < analyst < compliance < admin


def test_custom_permissions_exist():
    for name in ("cases.approve_closure", "scoring.promote_model", "apikeys.manage_keys", "audit.export_audit"):
        app_label, codename = name.split(".")
        assert Permission.objects.filter(content_type__app_label=app_label, codename=codename).exists()
