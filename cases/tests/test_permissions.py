"""Scoping: every page and endpoint answers 404 for another team's case; viewers read only."""

import pytest

from cases.models import Approval, Case
from cases.services import case_close

pytestmark = pytest.mark.django_db

PAGES = ["/cases/{ref}/", "/cases/{ref}/similar", "/cases/{ref}/?fragment=head", "/cases/{ref}/?fragment=timeline"]
PAGE_ACTIONS = ["claim", "assign", "transition", "escalate", "comment", "close", "share"]
API_GETS = ["/api/v1/cases/{ref}/"]
API_ACTIONS = ["assign", "transition", "escalate", "comment", "close", "approve", "reject"]


@pytest.fixture
def b_case(open_case):
    return open_case("b-1", risk_level="HIGH")


def test_analyst_sees_their_teams_cases_only(open_case, personas):
    a_case, b_case, unrouted = open_case("a-1"), open_case("b-1"), open_case("z-1")
    assert set(Case.objects.visible_to(personas["alice"])) == {a_case}
    assert set(Case.objects.visible_to(personas["bob"])) == {b_case}
    assert set(Case.objects.visible_to(personas["carol"])) == {a_case, b_case, unrouted}
    assert set(Case.objects.visible_to(personas["victor"])) == {a_case}


@pytest.mark.parametrize("page", PAGES)
def test_pages_of_another_teams_case_are_404(client, personas, b_case, page):
    client.force_login(personas["alice"])
    assert client.get(page.format(ref=b_case.reference)).status_code == 404
    client.force_login(personas["bob"])
    assert client.get(page.format(ref=b_case.reference)).status_code == 200


@pytest.mark.parametrize("action", PAGE_ACTIONS)
def test_page_actions_on_another_teams_case_are_404_and_change_nothing(client, personas, b_case, action):
    client.force_login(personas["alice"])
    response = client.post(
        f"/cases/{b_case.reference}/{action}",
        {"status": "triage", "body": "x", "reason": "r", "outcome": "no_action", "rationale": "r"},
    )
    assert response.status_code == 404
    b_case.refresh_from_db()
    assert (b_case.status, b_case.assignee) == ("new", None)
    assert b_case.events.count() == 1


def test_bulk_assign_ignores_cases_the_user_cannot_see(client, personas, b_case, open_case):
    a_case = open_case("a-1")
    client.force_login(personas["alice"])
    client.post("/cases/bulk-assign", {"reference": [a_case.reference, b_case.reference], "assignee": "alice"})
    a_case.refresh_from_db()
    b_case.refresh_from_db()
    assert (a_case.assignee, b_case.assignee) == (personas["alice"], None)


def test_approval_of_another_teams_case_is_404(client, personas, b_case):
    case_close(case=b_case, outcome="confirmed_fraud", rationale="r", actor=personas["bob"])
    approval = Approval.objects.get(case=b_case)
    # a compliance officer of no team sees every case; an analyst of team A does not see this approval
    client.force_login(personas["alice"])
    assert client.post(f"/approvals/{approval.pk}/approve", {"comment": "x"}).status_code == 404
    assert approval.case.reference not in client.get("/approvals/").content.decode()
    approval.refresh_from_db()
    assert approval.status == "pending"


@pytest.mark.parametrize("url", API_GETS)
def test_api_reads_of_another_teams_case_are_404(client, personas, b_case, url):
    client.force_login(personas["alice"])
    response = client.get(url.format(ref=b_case.reference))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert b_case.reference not in client.get("/api/v1/cases/?state=all").content.decode()


@pytest.mark.parametrize("action", API_ACTIONS)
def test_api_actions_on_another_teams_case_are_404(client, personas, b_case, action):
    client.force_login(personas["alice"])
    body = {
        "assignee": "alice",
        "status": "triage",
        "reason": "r",
        "team": "team-a",
        "body": "hi",
        "outcome": "no_action",
        "rationale": "r",
        "comment": "c",
    }
    response = client.post(f"/api/v1/cases/{b_case.reference}/{action}/", body, content_type="application/json")
    # alice may work cases, so only scoping refuses her (404); approving needs a permission she lacks (403)
    assert response.status_code == (403 if action in {"approve", "reject"} else 404)
    b_case.refresh_from_db()
    assert b_case.events.count() == 1


def test_api_patch_of_another_teams_case_is_404(client, personas, b_case):
    client.force_login(personas["alice"])
    response = client.patch(f"/api/v1/cases/{b_case.reference}/", {"title": "mine"}, content_type="application/json")
    assert response.status_code == 404
    b_case.refresh_from_db()
    assert b_case.title != "mine"


def test_viewer_reads_but_cannot_act(client, personas, open_case):
    case = open_case("a-1")
    client.force_login(personas["victor"])
    page = client.get(f"/cases/{case.reference}/")
    assert page.status_code == 200
    assert b"/claim" not in page.content and b"Add comment" not in page.content
    client.post(f"/cases/{case.reference}/transition", {"status": "triage"})
    api = client.post(
        f"/api/v1/cases/{case.reference}/transition/", {"status": "triage"}, content_type="application/json"
    )
    assert api.status_code == 403
    case.refresh_from_db()
    assert case.status == "new"


def test_anonymous_is_sent_to_login(client, open_case):
    case = open_case("a-1")
    response = client.get(f"/cases/{case.reference}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
