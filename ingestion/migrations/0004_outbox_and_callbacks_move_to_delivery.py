"""The outbox and the callbacks now live in the delivery app: ingestion's state forgets them (no SQL)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('ingestion', '0003_apikey_moves_to_apikeys'),
        ('delivery', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='delivery',
                    name='endpoint',
                ),
                migrations.RemoveField(
                    model_name='delivery',
                    name='event',
                ),
                migrations.RemoveField(
                    model_name='deliveryattempt',
                    name='delivery',
                ),
                migrations.RemoveField(
                    model_name='historicalcallbackendpoint',
                    name='api_key',
                ),
                migrations.RemoveField(
                    model_name='historicalcallbackendpoint',
                    name='history_user',
                ),
                migrations.RemoveField(
                    model_name='historicalcallbackendpoint',
                    name='owner',
                ),
                migrations.DeleteModel(
                    name='CallbackEndpoint',
                ),
                migrations.DeleteModel(
                    name='OutboxEvent',
                ),
                migrations.DeleteModel(
                    name='Delivery',
                ),
                migrations.DeleteModel(
                    name='DeliveryAttempt',
                ),
                migrations.DeleteModel(
                    name='HistoricalCallbackEndpoint',
                ),
            ],
        ),
    ]
