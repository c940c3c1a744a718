"""Hints to the workspace's WebSockets that a case changed, sent after the writing transaction commits.

The channel layer is at-most-once: a hint carries only the reference and what happened; pages
re-fetch their fragment (permission-scoped) when a hint arrives, or when they reconnect.
"""

import logging

from django.db import transaction

from kernel.groups import group_send_many
from organisations.context import require_organisation_id

logger = logging.getLogger(__name__)

ALL_CASES_GROUP = "cases.all"


def all_cases_group(organisation_id: int) -> str:
    """Everyone who sees all of an organisation's cases."""
    return f"{ALL_CASES_GROUP}.{organisation_id}"


def team_group(team_id: int) -> str:
    return f"cases.team.{team_id}"


def user_group(user_id: int) -> str:
    return f"cases.user.{user_id}"


def case_group(case_id: int) -> str:
    return f"cases.case.{case_id}"


def notify_case_changed(*, case_id: int, reference: str, team_id: int | None, user_ids, kind: str) -> None:
    """Queue one hint per audience for after commit: everyone allowed to see the case, and its viewers."""
    notify_cases_changed(
        [{"case_id": case_id, "reference": reference, "team_id": team_id, "user_ids": user_ids, "kind": kind}]
    )


def notify_cases_changed(changes: list[dict]) -> None:
    """Hints for many cases of the current organisation (keys as notify_case_changed's arguments), sent
    together after commit.

    An ingest batch that opens hundreds of cases sends every hint in one event-loop round
    (~600 group_sends gathered): one async_to_sync per hint measured ~2.8 s for 261 cases.
    """
    sends = []
    everyone = all_cases_group(require_organisation_id()) if changes else ""
    for change in changes:
        groups = [everyone, case_group(change["case_id"])]
        if change["team_id"] is not None:
            groups.append(team_group(change["team_id"]))
        groups.extend(user_group(uid) for uid in sorted({u for u in change["user_ids"] if u}))
        message = {
            "type": "case.changed",
            "case_id": change["case_id"],
            "reference": change["reference"],
            "kind": change["kind"],
        }
        sends.extend((group, message) for group in groups)
    if sends:
        transaction.on_commit(lambda: _dispatch(sends))


# Up to this many group sends go out from the committing thread (a comment, a status change: a handful).
# More -- an ingest batch opening hundreds of cases, ~1,000 sends and ~0.3 s -- go to a worker in one
# task, so the integrator's request does not wait for the workspace's hints.
INLINE_MAX_SENDS = 20


def _dispatch(sends: list[tuple[str, dict]]) -> None:
    if len(sends) <= INLINE_MAX_SENDS:
        send_hints(sends)
        return
    from cases.tasks import send_case_hints_task

    try:
        send_case_hints_task.delay([[group, message] for group, message in sends])
    except Exception:  # the broker (Redis, as the channel layer) is down: hints are at most once anyway
        logger.warning("cases: could not queue %d live hints", len(sends), exc_info=True)


def send_hints(sends: list[tuple[str, dict]]) -> None:
    """Send `(group, message)` hints now (inline, or in the worker for big changes)."""
    group_send_many(sends)
