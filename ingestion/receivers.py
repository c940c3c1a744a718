"""What ingestion does when other apps speak: their events go to the outbox, in their transaction."""

from ingestion.services.outbox import append_events


def on_outbox_event(sender, *, event_type: str, payload: dict, **kwargs) -> None:
    append_events([(event_type, payload)])
