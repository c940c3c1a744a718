"""Row-level security on closing checklists, their ticks and decision reviews, as on every organisation-owned
table (0004)."""

import importlib

from django.db import migrations

_policies = importlib.import_module("organisations.migrations.0004_row_level_security")

TABLES = (
    "cases_closingchecklist",
    "cases_historicalclosingchecklist",
    "cases_checklistitem",
    "cases_historicalchecklistitem",
    "cases_checklisttick",
    "cases_decisionreview",
)


def install(apps, schema_editor):
    _policies.policies_on(schema_editor, TABLES)


def uninstall(apps, schema_editor):
    _policies.policies_off(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [
        ("organisations", "0006_row_level_security_attachments"),
        ("cases", "0008_checklists_and_decision_reviews"),
    ]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
