"""A compliance officer retrains from the dashboard in Chromium: the run's page follows the training in the
server's background (a forked daphne process here, as the embedded default serves) until it links to the
candidate, without a reload."""

import re

import pytest
from playwright.sync_api import expect

from cases.tests.browser.conftest import log_in
from cases.tests.browser.test_workspace_flow import PASSWORD
from scoring.models import RetrainRun
from scoring.tests.test_monitoring import recent_traffic, store_scored

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def retrain_on_little_traffic(settings):
    """Set before the server starts: its process takes the settings it was started with."""
    settings.RETRAIN_MIN_ROWS = 50


def test_the_retraining_page_follows_the_run_to_its_candidate(
    retrain_on_little_traffic, asgi_server, browser, champion, make_user, celery_worker_if_queued
):
    transactions, _ = recent_traffic(seed=106, n_accounts=60, days=3)
    store_scored(transactions)
    officer = make_user("compliance", username="olivia")
    officer.set_password(PASSWORD)
    officer.save()

    page = log_in(browser, asgi_server, "olivia", PASSWORD)
    page.goto(f"{asgi_server}/")
    page.click("[data-testid=retrain-form] button")
    expect(page).to_have_url(re.compile(r"/models/retrain/\d+/$"))
    run = RetrainRun.objects.get()
    assert page.url == f"{asgi_server}/models/retrain/{run.pk}/"
    expect(page.locator("#retrain-progress progress")).to_be_visible()
    expect(page.locator("[data-testid=candidate]")).to_be_visible(timeout=120_000)
    expect(page.locator("[data-testid=retrain-status]")).to_have_text("Done")
    expect(page.locator("#retrain-progress progress")).to_have_attribute("value", "100")
    run.refresh_from_db()
    assert run.status == RetrainRun.Status.DONE and run.model_version is not None
