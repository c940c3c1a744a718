"""The similar-cases fragment's budget per person (USER_EXPENSIVE_RATES["similar_cases"]): over it, 429 with
Retry-After and a page, or for htmx a fragment, that says when to try again."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_a_minute(settings):
    settings.USER_EXPENSIVE_RATES = {**settings.USER_EXPENSIVE_RATES, "similar_cases": "2/min"}


def similar(client, case, **headers):
    return client.get(f"/cases/{case.reference}/similar", **headers)


def test_over_the_budget_the_page_answers_429_and_says_when_to_try_again(client, personas, open_case, two_a_minute):
    case = open_case("a-1")
    client.force_login(personas["alice"])
    assert [similar(client, case).status_code for _ in range(2)] == [200, 200]

    response = similar(client, case)
    assert response.status_code == 429 and response["Content-Type"].startswith("text/html")
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= 30  # 2 a minute: the next one 30 s after the burst
    page = response.content.decode()
    assert "<title>Too many requests" in page and f"Try again in {retry_after} second" in page

    # The case page loads the fragment with htmx: it gets the message alone, to show in the fragment's place.
    fragment = similar(client, case, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 429 and int(fragment["Retry-After"]) > 0
    body = fragment.content.decode()
    assert "<html" not in body and 'data-testid="rate-limited"' in body and "Try again in" in body


def test_each_person_has_a_budget_of_their_own_for_this_page_only(client, personas, open_case, two_a_minute):
    case = open_case("a-1")
    client.force_login(personas["alice"])
    assert [similar(client, case).status_code for _ in range(3)] == [200, 200, 429]
    assert client.get(f"/cases/{case.reference}/").status_code == 200  # the case page itself is not limited
    client.force_login(personas["carol"])
    assert similar(client, case).status_code == 200


def test_when_the_cache_is_unreachable_the_page_is_served(client, personas, open_case, two_a_minute, cache_unreachable):
    case = open_case("a-1")
    client.force_login(personas["alice"])
    assert [similar(client, case).status_code for _ in range(3)] == [200, 200, 200]
