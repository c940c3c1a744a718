"""Row-level security on the threshold calibrations and their four-eyes requests, as on every
organisation-owned table (organisations 0004)."""

import importlib

from django.db import migrations

_policies = importlib.import_module("organisations.migrations.0004_row_level_security")

TABLES = ("scoring_thresholdcalibration", "scoring_calibrationrequest")


def install(apps, schema_editor):
    _policies.policies_on(schema_editor, TABLES)


def uninstall(apps, schema_editor):
    _policies.policies_off(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [("organisations", "0004_row_level_security"), ("scoring", "0018_threshold_calibration")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
