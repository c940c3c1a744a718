"""Row-level security on the retrain runs, as on every organisation-owned table (0004)."""

import importlib

from django.db import migrations

_policies = importlib.import_module("organisations.migrations.0004_row_level_security")

TABLES = ("scoring_retrainrun",)


def install(apps, schema_editor):
    _policies.policies_on(schema_editor, TABLES)


def uninstall(apps, schema_editor):
    _policies.policies_off(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [("organisations", "0004_row_level_security"), ("scoring", "0015_retrain_runs")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
