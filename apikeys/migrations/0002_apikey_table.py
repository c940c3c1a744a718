"""The API key table takes its app's name (ingestion_apikey -> apikeys_apikey)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("apikeys", "0001_initial"),
        ("ingestion", "0003_apikey_moves_to_apikeys"),
    ]

    operations = [migrations.AlterModelTable(name="apikey", table=None)]
