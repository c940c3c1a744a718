"""The demo's clock: the month of history is replayed through the real services with the clock set to when
each thing happened, so every time those services stamp (received, opened, commented, closed, approved,
audited) agrees with the transactions' own times, and the pages' charts and SLAs read as a working month."""

from datetime import datetime

import time_machine
from django.utils import timezone


class Clock:
    """Moves the process's clock (datetime, time.time; not time.monotonic) forward through the past, never
    beyond the real time the demo started at, and gives it back when the replay ends."""

    def __init__(self, *, start: datetime, end: datetime):
        self.end = end
        self._travel = time_machine.travel(start, tick=True)
        self._coordinates = None

    def __enter__(self) -> "Clock":
        self._coordinates = self._travel.start()
        return self

    def __exit__(self, *exc) -> None:
        self._travel.stop()
        self._coordinates = None

    def move_to(self, when: datetime) -> None:
        """Forward only: services rely on time not going back (the audit chain's created_at, for one)."""
        when = min(when, self.end)
        if when > timezone.now():
            self._coordinates.move_to(when)
