"""Hints to the workspace's WebSockets that a case changed, sent after the writing transaction commits.

The channel layer is at-most-once: a hint carries only the reference and what happened; pages
re-fetch their fragment (permission-scoped) when a hint arrives, or when they reconnect.
"""

import asyncio
import logging
import threading

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

ALL_CASES_GROUP = "cases.all"


def team_group(team_id: int) -> str:
    return f"cases.team.{team_id}"


def user_group(user_id: int) -> str:
    return f"cases.user.{user_id}"


def case_group(case_id: int) -> str:
    return f"cases.case.{case_id}"


def notify_case_changed(*, case_id: int, reference: str, team_id: int | None, user_ids, kind: str) -> None:
    """Queue one hint per audience for after commit: everyone allowed to see the case, and its viewers."""
    groups = [ALL_CASES_GROUP, case_group(case_id)]
    if team_id is not None:
        groups.append(team_group(team_id))
    groups.extend(user_group(uid) for uid in sorted({u for u in user_ids if u}))
    message = {"type": "case.changed", "case_id": case_id, "reference": reference, "kind": kind}
    transaction.on_commit(lambda: _send(groups, message))


def _send(groups: list[str], message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    if _loop_running_here():
        # Sync code called on an event loop's thread (a script or test driving asyncio): async_to_sync
        # refuses to run there, so send from a short-lived thread.
        sender = threading.Thread(target=_send_now, args=(layer, groups, message))
        sender.start()
        sender.join(timeout=5)
        return
    _send_now(layer, groups, message)


def _send_now(layer, groups: list[str], message: dict) -> None:
    try:
        for group in groups:
            async_to_sync(layer.group_send)(group, message)
    except Exception:  # the push is a hint; pages re-fetch on reconnect, nothing is lost
        logger.warning("cases: could not send the live hint for %s", message["reference"], exc_info=True)


def _loop_running_here() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
