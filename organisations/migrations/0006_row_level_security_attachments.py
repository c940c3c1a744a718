"""Row-level security on case attachments, as on every organisation-owned table (0004)."""

import importlib

from django.db import migrations

_policies = importlib.import_module("organisations.migrations.0004_row_level_security")

TABLES = ("cases_attachment",)


def install(apps, schema_editor):
    _policies.policies_on(schema_editor, TABLES)


def uninstall(apps, schema_editor):
    _policies.policies_off(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [("organisations", "0005_row_level_security_retrain_runs"), ("cases", "0007_attachments")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
