"""ApiKey now lives in the apikeys app: the references to it follow, and ingestion's state forgets it (no SQL)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ingestion", "0002_callbacks_sources_uploads_streams_idempotency"),
        ("apikeys", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="idempotencykey",
                    name="api_key",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="idempotency_keys",
                        to="apikeys.apikey",
                    ),
                ),
                migrations.AlterField(
                    model_name="callbackendpoint",
                    name="api_key",
                    field=models.ForeignKey(
                        blank=True,
                        help_text="The integrator key that manages this endpoint through the API.",
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="callback_endpoints",
                        to="apikeys.apikey",
                    ),
                ),
                migrations.AlterField(
                    model_name="historicalcallbackendpoint",
                    name="api_key",
                    field=models.ForeignKey(
                        blank=True,
                        db_constraint=False,
                        help_text="The integrator key that manages this endpoint through the API.",
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="apikeys.apikey",
                    ),
                ),
                migrations.DeleteModel(name="ApiKey"),
            ],
        ),
    ]
