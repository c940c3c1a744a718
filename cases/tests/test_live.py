"""Live hints: /ws/cases/ tells a user about cases they may see, and only those; a case page hears its case."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from cases.services import case_comment, open_cases_for_decisions
from cases.services.live import INLINE_MAX_SENDS
from cases.tests.conftest import flagged_decisions
from finobs.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(user, path="/ws/cases/"):
    communicator = WebsocketCommunicator(application, path, headers=[(b"origin", b"http://127.0.0.1")])
    communicator.scope["user"] = user
    connected, code = await communicator.connect()
    return communicator, connected, code


async def test_worklist_hears_new_cases_of_its_team_only(personas, open_case):
    alice_ws, connected, _ = await connect(personas["alice"])
    carol_ws, _, _ = await connect(personas["carol"])
    assert connected
    b_case = await database_sync_to_async(open_case)("b-1")
    a_case = await database_sync_to_async(open_case)("a-1")
    hint = await alice_ws.receive_json_from(timeout=5)
    assert hint == {"type": "case.changed", "reference": a_case.reference, "kind": "opened"}
    assert await alice_ws.receive_nothing(timeout=0.3)  # nothing about team B's case
    seen_by_compliance = {(await carol_ws.receive_json_from(timeout=5))["reference"] for _ in range(2)}
    assert seen_by_compliance == {a_case.reference, b_case.reference}
    await alice_ws.disconnect()
    await carol_ws.disconnect()


async def test_a_batch_opening_many_cases_sends_its_hints_through_a_worker_task(personas, model_version, settings):
    # More hints than the committing thread sends itself: they go as one Celery task (run here in-process).
    settings.CELERY_TASK_ALWAYS_EAGER = True
    accounts = [f"bulk-{i}" for i in range(INLINE_MAX_SENDS)]  # >= 2 groups per case: over the inline limit
    carol_ws, connected, _ = await connect(personas["carol"])
    assert connected

    def open_many():
        decisions = [d for account in accounts for d in flagged_decisions(model_version, account_id=account)]
        open_cases_for_decisions(decisions=decisions, actor="tests")

    await database_sync_to_async(open_many)()
    heard = {(await carol_ws.receive_json_from(timeout=5))["reference"] for _ in accounts}
    assert len(heard) == len(accounts)
    await carol_ws.disconnect()


async def test_case_page_socket_is_scoped_and_hears_comments(personas, open_case):
    case = await database_sync_to_async(open_case)("a-1")
    _, connected, code = await connect(personas["bob"], f"/ws/cases/{case.reference}/")
    assert not connected and code == 4404
    viewer_ws, connected, _ = await connect(personas["victor"], f"/ws/cases/{case.reference}/")
    assert connected
    await database_sync_to_async(case_comment)(case=case, body="new evidence", author=personas["carol"])
    hint = await viewer_ws.receive_json_from(timeout=5)
    assert (hint["reference"], hint["kind"]) == (case.reference, "commented")
    await viewer_ws.disconnect()


async def test_anonymous_and_roleless_users_are_refused(make_user, settings):
    from django.contrib.auth.models import AnonymousUser

    settings.WS_AUTHENTICATE_TIMEOUT_S = 0.3
    communicator, connected, _ = await connect(AnonymousUser())
    assert connected  # without a session it may still send an access token (accounts.channels)
    assert await communicator.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    nobody = await database_sync_to_async(make_user)(None, "nobody")
    _, connected, code = await connect(nobody)
    assert not connected and code == 4403
