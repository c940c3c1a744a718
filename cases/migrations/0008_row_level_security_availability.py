"""Row-level security on people's availability and its history, as on every organisation-owned table."""

import importlib

from django.db import migrations

_policies = importlib.import_module("organisations.migrations.0004_row_level_security")

TABLES = ("cases_availability", "cases_historicalavailability")


def install(apps, schema_editor):
    _policies.policies_on(schema_editor, TABLES)


def uninstall(apps, schema_editor):
    _policies.policies_off(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [("organisations", "0004_row_level_security"), ("cases", "0007_manual_cases_assignment_sla_version")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
