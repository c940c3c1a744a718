"""Over a page's rate limit, htmx swaps the 429's message in where the similar cases would have been."""

import pytest

from cases.tests.browser.test_workspace_flow import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def one_similar_search_a_minute(settings):
    """Set before the server starts: its process takes the settings it was started with."""
    settings.USER_EXPENSIVE_RATES = {**settings.USER_EXPENSIVE_RATES, "similar_cases": "1/min"}


def test_the_similar_cases_fragment_says_when_to_try_again(
    one_similar_search_a_minute, asgi_server, browser, open_case, personas
):
    case = open_case("a-1")
    alice = personas["alice"]
    alice.set_password(PASSWORD)
    alice.save()

    page = browser.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{asgi_server}/accounts/login/?next=/cases/{case.reference}/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=No closed case you can see is comparable yet.")

    page.reload()
    message = page.wait_for_selector("[data-testid=rate-limited]")
    assert "Try again in" in message.inner_text()
    assert page.locator("text=Finding nearest neighbours").count() == 0
