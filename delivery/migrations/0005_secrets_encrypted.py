"""Callback signing secrets are stored encrypted (kernel.encryption); migrating back decrypts them."""

from django.db import migrations, models

import kernel.encryption
from kernel.migrations import encrypt_fields

SECRETS = ["secret", "previous_secret"]


class Migration(migrations.Migration):
    dependencies = [("delivery", "0004_organisation")]

    operations = [
        # Text first (a token is longer than the old 100 characters), then the values, then the field type.
        migrations.AlterField("callbackendpoint", "secret", models.TextField(editable=False)),
        migrations.AlterField("callbackendpoint", "previous_secret", models.TextField(blank=True, editable=False)),
        encrypt_fields(app_label="delivery", model_name="callbackendpoint", fields=SECRETS),
        migrations.AlterField(
            model_name="callbackendpoint",
            name="previous_secret",
            field=kernel.encryption.EncryptedTextField(blank=True, editable=False),
        ),
        migrations.AlterField(
            model_name="callbackendpoint",
            name="secret",
            field=kernel.encryption.EncryptedTextField(editable=False),
        ),
    ]
