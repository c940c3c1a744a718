"""Row-level security on investigations and the agent's proposals, as on every organisation-owned table."""

import importlib

from django.db import migrations

_policies = importlib.import_module("organisations.migrations.0004_row_level_security")

TABLES = ("cases_investigation", "cases_agentaction")


def install(apps, schema_editor):
    _policies.policies_on(schema_editor, TABLES)


def uninstall(apps, schema_editor):
    _policies.policies_off(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [("organisations", "0004_row_level_security"), ("cases", "0007_investigations")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
