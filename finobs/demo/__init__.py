"""The demo: two organisations with a month of working history that ends now, built by a sequence of small
steps that each seed one feature through the product's own services.

A step is a function `step(demo: Demo) -> str | None` listed in STEPS; it returns a line for the output (or
None). A step that belongs in the month (a drift check, a model trained on the traffic so far) schedules
itself with `demo.at(when, action)` before the history step replays the month, and does so only when
`demo.is_new` (the month is replayed once; re-runs change nothing). Every step is idempotent.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the package is importable without Django set up (bin/screenshots runs from it)
    from organisations.models import Organisation

DEMO_SOURCE = "demo"


@dataclass
class Demo:
    """One organisation's demo run: who acts, the month it covers, and what is scheduled in it."""

    organisation: Organisation | None
    prefix: str  # usernames' prefix, so two organisations' people have different usernames
    seed: int
    accounts: int
    days: int
    end: datetime  # the real time the run started: nothing is dated after it
    write: Callable[[str], None]
    is_new: bool = False  # no history yet: this run replays the month
    is_showcase: bool = True  # every feature; the second organisation has people, teams and traffic only
    users: dict = field(default_factory=dict)  # role or colleague name -> user
    new_passwords: dict = field(default_factory=dict)  # username -> (password, hash), new every run
    passwords: dict = field(default_factory=dict)  # username -> password (printed on every run)
    teams: dict = field(default_factory=dict)  # slug -> Team
    api_key: str = ""
    clock: object = None  # finobs.demo.clock.Clock while the month is replayed
    truth: dict = field(default_factory=dict)  # external_id -> fraud pattern, for the injected fraud
    seen_cases: set = field(default_factory=set)
    due: dict = field(default_factory=dict)  # case reference -> its SLA as the team last planned for it
    tally: Counter = field(default_factory=Counter)  # what the replay made, by kind
    shared: dict = field(default_factory=dict)  # what steps share (the partner server)
    on_finish: list = field(default_factory=list)  # callables run when the organisation's steps end (even on error)
    _schedule: list = field(default_factory=list)
    _order: itertools.count = field(default_factory=itertools.count)

    @property
    def start(self) -> datetime:
        return (self.end - timedelta(days=self.days)).replace(minute=0, second=0, microsecond=0)

    def rng(self, *names) -> random.Random:
        """A generator fixed by the seed and `names` (a case reference, a step's name): same demo, same draws."""
        return random.Random(f"{self.seed}:{':'.join(map(str, names))}")

    def at(self, when: datetime, action: Callable[[], None]) -> None:
        """Run `action` during the month's replay with the clock at `when` (before now)."""
        heapq.heappush(self._schedule, (min(when, self.end), next(self._order), action))

    def next_due(self) -> datetime | None:
        return self._schedule[0][0] if self._schedule else None

    def pop_due(self) -> tuple[datetime, Callable[[], None]]:
        when, _, action = heapq.heappop(self._schedule)
        return when, action

    def user(self, name: str):
        return self.users[name]
