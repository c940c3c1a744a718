"""Built the account profiles of transactions stored before profiles existed.

It ran once where such transactions existed; profiles now belong to organisations, and a database that
reaches this migration fresh has no transactions, so it does nothing.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("scoring", "0006_account_profiles")]
    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
