"""Delivery's tables take its app's name (ingestion_outboxevent -> delivery_outboxevent, ...)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("delivery", "0001_initial"),
        ("ingestion", "0004_outbox_and_callbacks_move_to_delivery"),
    ]

    operations = [
        migrations.AlterModelTable(name=name, table=None)
        for name in ("outboxevent", "callbackendpoint", "historicalcallbackendpoint", "delivery", "deliveryattempt")
    ]
