"""A newcomer's tour of the demo's month in the browser: the analyst sees similar past cases with their
outcomes, the compliance officer a closure waiting for approval, and the dashboard drift, the A/B
experiment's comparison and the leaderboard's average precision."""

import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from cases.models import Case
from cases.tests.browser.conftest import log_in
from cases.tests.test_attachments import private_storage  # noqa: F401 (autouse: the demo's files in a temporary directory)
from evidence.tests.conftest import export_paths  # noqa: F401 (autouse: the demo's exports too)
from organisations.context import organisation_context
from organisations.models import Organisation

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
NUMBER = re.compile(r"^\d+(\.\d+)?$")


@pytest.fixture
def demo_month(asgi_server, settings, roles):
    """The demo, made before the browser starts (Playwright's sync API runs an event loop on this thread)."""
    settings.RETRAIN_MIN_ROWS = 300  # the small month is enough traffic to retrain on
    call_command("demo", accounts=150, days=8, stdout=io.StringIO())
    for username in ("analyst", "compliance"):
        user = get_user_model().objects.get(username=username)
        user.set_password(PASSWORD)
        user.save()
    with organisation_context(Organisation.objects.get(slug="default")):
        open_cases = list(
            Case.objects.open()
            .exclude(status=Case.Status.PENDING_APPROVAL)
            .order_by("-opened_at")
            .values_list("reference", flat=True)[:6]
        )
    return open_cases


def test_the_demo_shows_every_role_something(asgi_server, demo_month, browser):
    analyst = log_in(browser, asgi_server, "analyst", PASSWORD)
    outcomes = []
    for reference in demo_month:
        analyst.goto(f"{asgi_server}/cases/{reference}/")
        analyst.locator("#similar-h + div").get_by_text("Finding nearest neighbours").wait_for(state="detached")
        outcomes = analyst.locator("[data-testid=similar-cases] span.badge[class*=out-]").all_inner_texts()
        if outcomes:
            break
    assert set(outcomes) & {"Confirmed fraud", "False positive", "SAR filed", "No action"}

    compliance = log_in(browser, asgi_server, "compliance", PASSWORD)
    compliance.goto(f"{asgi_server}/approvals/")
    closures = compliance.locator("[data-testid=approvals] tr[data-approval^=case_closure]")
    assert closures.count() >= 1
    assert "Close as" in closures.first.inner_text()

    compliance.goto(f"{asgi_server}/")
    drift = compliance.locator("[data-testid=drift]").inner_text()
    assert "drifted" in drift  # the month's move from card-present to online (finobs/tests/test_demo.py)
    experiment = compliance.locator("[data-testid=experiment]").inner_text()
    assert "running" in experiment and "challenger" in experiment and "champion" in experiment
    average_precision = compliance.locator("[data-testid=leaderboard] tbody tr td:nth-child(8)").all_inner_texts()
    assert any(NUMBER.match(value.strip()) for value in average_precision)
