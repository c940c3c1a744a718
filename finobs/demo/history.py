"""The month of traffic, replayed hour by hour through the ingest pipeline with the clock at each hour's
end, and everything scheduled in it (the team's case work, drift checks, models) in time order."""

from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial
from itertools import groupby

import numpy as np
from django.core.cache import cache

from cases.models import Case
from delivery.services import outbox_relay
from delivery.services.outbox import RELAY_QUEUED_KEY, outbox_relay_mark_clear
from finobs.demo import DEMO_SOURCE, Demo
from finobs.demo.casework import plan_case, replan_sooner
from ingestion.services import ingest
from scoring.generator import generate
from scoring.models import Transaction

# An integrator sends its transactions every BATCH_HOURS, a couple of minutes after the period ends.
BATCH_HOURS = 2
SEND_LAG_MINUTES = 2
# The outbox is relayed this often during the replay (beat's periodic relay; steps may relay more often).
RELAY_EVERY_MINUTES = 60
# The held mark outlives two relays (a replay that dies leaves commits queueing relays again after this).
RELAY_MARK_TTL_S = 2 * RELAY_EVERY_MINUTES * 60
# The last week's customers move from the card terminal to online shopping (a bank app's new wallet): the
# channel mix, and with it the "Channel risk" feature, drifts from what the model was trained on.
DRIFT_DAYS = 7
DRIFT_SHARE = 0.7


def traffic(demo: Demo) -> tuple[list[dict], dict[str, str]]:
    """The month's records (fixed by the seed, dated from demo.start) and each fraudulent one's pattern."""
    generated = generate(n_accounts=demo.accounts, days=demo.days, seed=demo.seed, start=demo.start)
    records = generated.records
    drift_from = (demo.end - timedelta(days=DRIFT_DAYS)).isoformat()[:19]
    moved = np.random.default_rng(demo.seed).random(len(records)) < DRIFT_SHARE
    for record, move, pattern in zip(records, moved, generated.patterns, strict=True):
        if move and not pattern and record["channel"] == "card_present" and record["timestamp"][:19] >= drift_from:
            record["channel"] = "online"
    truth = {r["external_id"]: p for r, p in zip(records, generated.patterns, strict=True) if p}
    return records, truth


def history(demo: Demo) -> str | None:
    """Replay the month: hourly batches through the pipeline, and whatever the steps scheduled in it."""
    if not demo.is_new:
        n = Transaction.objects.filter(source=DEMO_SOURCE).count()
        return f"  History: {n} transactions and {Case.objects.count()} cases, as the first run made them."
    records, truth = traffic(demo)
    demo.truth.update(truth)
    for period_start, batch in groupby(records, key=_period):
        sent_at = period_start + timedelta(hours=BATCH_HOURS, minutes=SEND_LAG_MINUTES)
        demo.at(sent_at, partial(_send, demo, list(batch)))
    when = demo.start
    while when < demo.end:
        demo.at(when, relay)
        when += timedelta(minutes=RELAY_EVERY_MINUTES)
    with relay_held():
        while demo.next_due() is not None:
            when, action = demo.pop_due()
            demo.clock.move_to(when)
            action()
    closed = Case.objects.filter(status=Case.Status.CLOSED).count()
    return (
        f"  History: {len(records)} transactions over {demo.days} days, {Case.objects.count()} cases "
        f"({closed} closed), {demo.tally['pending']} closures waiting for approval."
    )


def _period(record: dict) -> datetime:
    hour = datetime.fromisoformat(record["timestamp"][:13] + ":00:00+00:00")
    return hour.replace(hour=hour.hour - hour.hour % BATCH_HOURS)


@contextmanager
def relay_held():
    """Commits in the replay do not each start a relay (the embedded default runs it at once, in the
    committing process): the mark that says a relay is queued is held, and the replay relays on a schedule,
    as beat does. A second a relay per commit; the month has thousands of commits."""
    cache.set(RELAY_QUEUED_KEY, 1, timeout=RELAY_MARK_TTL_S)
    try:
        yield
    finally:
        outbox_relay_mark_clear()
        outbox_relay()


def relay() -> None:
    # The mark lives in the cache, whose expiry follows the clock the replay moves: set it again each time.
    cache.set(RELAY_QUEUED_KEY, 1, timeout=RELAY_MARK_TTL_S)
    outbox_relay()


def _send(demo: Demo, batch: list[dict]) -> None:
    result = ingest(batch, organisation=demo.organisation, source=DEMO_SOURCE, actor="demo")
    references = {d["case_reference"] for d in result.decisions if d["case_reference"]}
    opened = references - demo.seen_cases
    demo.seen_cases |= opened
    for case in Case.objects.filter(reference__in=references).order_by("opened_at", "reference"):
        if case.reference in opened:
            plan_case(demo, case)
        elif case.sla_due_at != demo.due.get(case.reference):
            replan_sooner(demo, case)
        demo.due[case.reference] = case.sla_due_at
