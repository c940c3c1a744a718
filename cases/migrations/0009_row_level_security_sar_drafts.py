"""Row-level security on SAR drafts and their history, as on every organisation-owned table (organisations 0004)."""

import importlib

from django.db import migrations

_policies = importlib.import_module("organisations.migrations.0004_row_level_security")

TABLES = ("cases_sardraft", "cases_historicalsardraft")


def install(apps, schema_editor):
    _policies.policies_on(schema_editor, TABLES)


def uninstall(apps, schema_editor):
    _policies.policies_off(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [("organisations", "0004_row_level_security"), ("cases", "0008_sar_drafts")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
