"""Row-level security on notifications and email choices, as on every organisation-owned table."""

import importlib

from django.db import migrations

_policies = importlib.import_module("organisations.migrations.0004_row_level_security")

TABLES = ("notifications_notification", "notifications_notificationpreference")


def install(apps, schema_editor):
    _policies.policies_on(schema_editor, TABLES)


def uninstall(apps, schema_editor):
    _policies.policies_off(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [("organisations", "0004_row_level_security"), ("notifications", "0001_notifications")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
