"""The outbox and the callbacks move here from ingestion: their state only (the rows stay), their content
types, then (0002) their tables' names."""

import django.db.models.deletion
import django.utils.timezone
import simple_history.models
from django.conf import settings
from django.db import migrations, models

from kernel.migrations import move_content_types


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('apikeys', '0002_apikey_table'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('ingestion', '0003_apikey_moves_to_apikeys'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='CallbackEndpoint',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100)),
                        ('url', models.URLField(help_text='Where events are POSTed; http(s) on a public address.', max_length=500)),
                        ('secret', models.CharField(editable=False, max_length=100)),
                        ('previous_secret', models.CharField(blank=True, editable=False, max_length=100)),
                        ('previous_secret_expires_at', models.DateTimeField(blank=True, editable=False, null=True)),
                        ('event_types', models.JSONField(default=list, help_text='Event types to receive, e.g. ["decision.created", "case.*"]; ["*"] for all.')),
                        ('flagged_only', models.BooleanField(default=False, help_text='Of decision.created, send only flagged decisions.')),
                        ('is_active', models.BooleanField(default=True)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                        ('consecutive_failures', models.PositiveIntegerField(default=0, editable=False)),
                        ('breaker_open_until', models.DateTimeField(blank=True, editable=False, null=True)),
                        ('last_event_id', models.BigIntegerField(default=0, editable=False)),
                        ('api_key', models.ForeignKey(blank=True, help_text='The integrator key that manages this endpoint through the API.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='callback_endpoints', to='apikeys.apikey')),
                        ('owner', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'ingestion_callbackendpoint',
                        'verbose_name': 'callback endpoint',
                    },
                ),
                migrations.CreateModel(
                    name='Delivery',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('event_type', models.CharField(max_length=64)),
                        ('webhook_id', models.CharField(help_text='The webhook-id header: the same on every retry (receivers dedup on it).', max_length=40, unique=True)),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('retrying', 'Retrying'), ('delivered', 'Delivered'), ('dead', 'Dead (gave up)')], default='pending', max_length=16)),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('next_attempt_at', models.DateTimeField(blank=True, null=True)),
                        ('last_status_code', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('last_error', models.CharField(blank=True, max_length=500)),
                        ('delivered_at', models.DateTimeField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('endpoint', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='delivery.callbackendpoint')),
                    ],
                    options={
                        'db_table': 'ingestion_delivery',
                        'verbose_name_plural': 'deliveries',
                        'permissions': [('redeliver_delivery', 'Can redeliver a callback delivery')],
                    },
                ),
                migrations.CreateModel(
                    name='DeliveryAttempt',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('attempted_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('status_code', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('error', models.CharField(blank=True, max_length=500)),
                        ('duration_ms', models.PositiveIntegerField(default=0)),
                        ('delivery', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='attempt_log', to='delivery.delivery')),
                    ],
                    options={
                        'db_table': 'ingestion_deliveryattempt',
                        'ordering': ['id'],
                    },
                ),
                migrations.CreateModel(
                    name='HistoricalCallbackEndpoint',
                    fields=[
                        ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                        ('name', models.CharField(max_length=100)),
                        ('url', models.URLField(help_text='Where events are POSTed; http(s) on a public address.', max_length=500)),
                        ('event_types', models.JSONField(default=list, help_text='Event types to receive, e.g. ["decision.created", "case.*"]; ["*"] for all.')),
                        ('flagged_only', models.BooleanField(default=False, help_text='Of decision.created, send only flagged decisions.')),
                        ('is_active', models.BooleanField(default=True)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                        ('history_id', models.AutoField(primary_key=True, serialize=False)),
                        ('history_date', models.DateTimeField(db_index=True)),
                        ('history_change_reason', models.CharField(max_length=100, null=True)),
                        ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                        ('api_key', models.ForeignKey(blank=True, db_constraint=False, help_text='The integrator key that manages this endpoint through the API.', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='apikeys.apikey')),
                        ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('owner', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'ingestion_historicalcallbackendpoint',
                        'verbose_name': 'historical callback endpoint',
                        'verbose_name_plural': 'historical callback endpoints',
                        'ordering': ('-history_date', '-history_id'),
                        'get_latest_by': ('history_date', 'history_id'),
                    },
                    bases=(simple_history.models.HistoricalChanges, models.Model),
                ),
                migrations.CreateModel(
                    name='OutboxEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('event_type', models.CharField(max_length=64)),
                        ('payload', models.JSONField()),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('published_at', models.DateTimeField(blank=True, null=True)),
                        ('attempts', models.PositiveIntegerField(default=0)),
                    ],
                    options={
                        'db_table': 'ingestion_outboxevent',
                        'indexes': [models.Index(condition=models.Q(('published_at__isnull', True)), fields=['id'], name='outbox_unpublished')],
                    },
                ),
                migrations.AddField(
                    model_name='delivery',
                    name='event',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='deliveries', to='delivery.outboxevent'),
                ),
                migrations.AddIndex(
                    model_name='delivery',
                    index=models.Index(fields=['status', 'next_attempt_at'], name='delivery_due'),
                ),
                migrations.AddConstraint(
                    model_name='delivery',
                    constraint=models.UniqueConstraint(fields=('endpoint', 'event'), name='delivery_once_per_endpoint'),
                ),
            ],
        ),
        move_content_types(
            models=['callbackendpoint', 'delivery', 'deliveryattempt', 'historicalcallbackendpoint', 'outboxevent'],
            from_app='ingestion',
            to_app='delivery',
        ),
    ]
