"""ApiKey moves here from ingestion: its state only (the rows stay), then its content type, then its table's name."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import apikeys.models.keys
from kernel.migrations import move_content_types


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("ingestion", "0002_callbacks_sources_uploads_streams_idempotency"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ApiKey",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=100)),
                        (
                            "source",
                            models.SlugField(
                                help_text="The source this key ingests as; duplicates are detected per source, so a rotated key keeps it.",
                                max_length=64,
                            ),
                        ),
                        ("prefix", models.CharField(help_text="Shown to identify the key.", max_length=8, unique=True)),
                        (
                            "key_hash",
                            models.CharField(
                                help_text="SHA-256 of the whole key; the key itself is never stored.", max_length=64
                            ),
                        ),
                        ("scopes", models.JSONField(default=list)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("expires_at", models.DateTimeField(blank=True, null=True)),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                        ("last_used_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "rate_limit",
                            models.CharField(
                                blank=True,
                                help_text="Requests allowed per period for this key, e.g. 600/min or 10000/hour; empty = the default.",
                                max_length=20,
                                validators=[apikeys.models.keys.validate_rate_limit],
                            ),
                        ),
                        (
                            "owner",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "API key",
                        "permissions": [("manage_keys", "Can create and revoke API keys")],
                        "db_table": "ingestion_apikey",
                    },
                ),
            ],
        ),
        move_content_types(models=["apikey"], from_app="ingestion", to_app="apikeys"),
    ]
