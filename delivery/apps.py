from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "delivery"

    def ready(self):
        from delivery.receivers import on_events_published
        from kernel.events import events_published

        events_published.connect(on_events_published, dispatch_uid="delivery.outbox_append")
