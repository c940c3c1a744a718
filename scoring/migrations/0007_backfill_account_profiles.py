"""Build the account profiles of transactions stored before profiles existed."""

from django.db import migrations


def backfill(apps, schema_editor):
    from scoring.profiles import profiles_rebuild

    profiles_rebuild(apps.get_model("scoring", "Transaction"))


class Migration(migrations.Migration):
    dependencies = [("scoring", "0006_account_profiles")]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
