"""Row-level security on rule activation requests, as on every organisation-owned table."""

import importlib

from django.db import migrations

_policies = importlib.import_module("organisations.migrations.0004_row_level_security")

TABLES = ("scoring_ruleactivation",)


def install(apps, schema_editor):
    _policies.policies_on(schema_editor, TABLES)


def uninstall(apps, schema_editor):
    _policies.policies_off(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [
        ("organisations", "0004_row_level_security"),
        ("scoring", "0016_rule_activation_and_merchant_history"),
    ]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
