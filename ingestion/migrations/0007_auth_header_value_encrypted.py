"""Pull sources' auth header values are stored encrypted (kernel.encryption); migrating back decrypts them."""

from django.db import migrations, models

import kernel.encryption
from kernel.migrations import encrypt_fields

HELP = "Secret: never shown again once saved; leave empty to keep it."


class Migration(migrations.Migration):
    dependencies = [("ingestion", "0006_organisation")]

    operations = [
        migrations.AlterField("pullsource", "auth_header_value", models.TextField(blank=True, help_text=HELP)),
        encrypt_fields(app_label="ingestion", model_name="pullsource", fields=["auth_header_value"]),
        migrations.AlterField(
            model_name="pullsource",
            name="auth_header_value",
            field=kernel.encryption.EncryptedTextField(blank=True, help_text=HELP),
        ),
    ]
