"""What delivery does when other apps publish: their events go to the outbox, in their transaction."""

from delivery.services.outbox import outbox_append


def on_events_published(sender, *, events: list[tuple[str, dict]], **kwargs) -> None:
    outbox_append(events=events)
