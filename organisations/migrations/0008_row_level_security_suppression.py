"""Row-level security on duplicate suppression's rule and held-back alerts, as on every organisation-owned
table (0004)."""

import importlib

from django.db import migrations

_policies = importlib.import_module("organisations.migrations.0004_row_level_security")

TABLES = ("cases_suppressionrule", "cases_historicalsuppressionrule", "cases_suppressedalert")


def install(apps, schema_editor):
    _policies.policies_on(schema_editor, TABLES)


def uninstall(apps, schema_editor):
    _policies.policies_off(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [
        ("organisations", "0007_row_level_security_checklists"),
        ("cases", "0010_duplicate_suppression"),
    ]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
