"""The Investigation panel in the browser: an analyst asks, the result appears (live on a colleague's open
page too), findings link to their evidence, a proposal is rejected with a reason and another accepted."""

import pytest

from cases.models import AgentAction, CaseEvent, RoutingRule, Team
from cases.tests.browser.test_workspace_flow import log_in, person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_case_page(page, base_url, reference):
    page.goto(f"{base_url}/cases/{reference}/")
    page.wait_for_selector("[data-live-status].ok")
    page.wait_for_selector("[data-testid=investigation-panel]")


def test_investigate_from_the_case_page_and_decide_the_proposals(
    asgi_server, browser, screenshot, make_user, case_with, celery_worker_if_queued
):
    team = Team.objects.get(slug="team-a")
    RoutingRule.objects.filter(team=team).update(priority=1)
    alice = person(make_user, "analyst", "alice-b")
    person(make_user, "compliance", "carol-b")
    team.members.add(alice)
    case = case_with("a-struct", [9500, 9400, 9300])

    colleague = log_in(browser, asgi_server, "carol-b")
    open_case_page(colleague, asgi_server, case.reference)
    colleague.evaluate("window.__sameDocument = true")

    analyst = log_in(browser, asgi_server, "alice-b")
    open_case_page(analyst, asgi_server, case.reference)
    assert analyst.locator("[data-testid=investigation-panel] >> text=No investigation yet").count() == 1
    analyst.click("[data-testid=investigate]")
    # In-process the run is done by the redirect; with a worker the panel follows it live (queued, running).
    analyst.wait_for_selector("[data-testid=recommended-outcome] >> text=confirmed fraud", timeout=45_000)
    assert analyst.locator("[data-testid=findings] li").count() >= 1
    link = analyst.locator('[data-testid=findings] a[href="#ev-pattern:structuring"]').first
    link.wait_for()
    analyst.locator("[data-testid=evidence] summary").click()
    link.click()
    assert analyst.evaluate("location.hash") == "#ev-pattern:structuring"
    assert analyst.locator('[id="ev-pattern:structuring"]').is_visible()
    screenshot(analyst, "investigation")

    # The colleague's page showed it without reloading: the case's socket hinted, the panel re-fetched.
    colleague.wait_for_selector("[data-testid=recommended-outcome] >> text=confirmed fraud")
    assert colleague.evaluate("window.__sameDocument") is True

    # Rejecting needs a reason (the browser refuses an empty one); with one, it is recorded.
    analyst.click("[data-testid=reject-assign]")
    assert AgentAction.objects.get(case=case, action_kind="assign").is_pending
    analyst.fill("[data-testid=reason-assign]", "I already work this case")
    analyst.click("[data-testid=reject-assign]")
    analyst.wait_for_selector("[data-proposal=assign][data-status=rejected]")

    # Accepting the closure parks the HIGH case for a second approver.
    analyst.click("[data-testid=accept-close_as]")
    analyst.wait_for_selector("[data-testid=case-status] >> text=Pending approval")
    analyst.wait_for_selector("[data-proposal=close_as][data-status=accepted]")
    kinds = list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))
    assert "investigated" in kinds and kinds.count("proposal_decided") == 2 and "closure_proposed" in kinds
