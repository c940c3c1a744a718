"""People's rate limits on the API: USER_API_RATE per signed-in person over every endpoint, apart from API keys'."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db
READ = "/api/v1/transactions/999999/"  # a read every role may make: 404, nothing is there


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def assert_rate_limited(response, *, period_s: int) -> None:
    assert response.status_code == 429, response.content
    body = response.json()
    assert set(body) == {"code", "message", "details"} and body["code"] == "rate_limited"
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= period_s
    assert body["details"] == {"retry_after_s": retry_after}


def test_a_person_over_the_rate_gets_429_with_retry_after(settings, make_user):
    settings.USER_API_RATE = "3/min"
    person = signed_in(make_user("viewer"))
    assert [person.get(READ).status_code for _ in range(3)] == [404, 404, 404]
    assert_rate_limited(person.get(READ), period_s=60)


def test_each_person_has_a_budget_of_their_own(settings, make_user):
    settings.USER_API_RATE = "1/min"
    alice, bob = signed_in(make_user("viewer", "alice")), signed_in(make_user("analyst", "bob"))
    assert [alice.get(READ).status_code for _ in range(2)] == [404, 429]
    assert bob.get(READ).status_code == 404


def test_api_keys_and_people_count_against_their_own_limits(settings, make_user, api_key):
    settings.USER_API_RATE = "2/min"
    settings.API_KEY_RATE = "2/min"
    person = signed_in(make_user("viewer"))
    _, raw = api_key

    def by_key():
        return Client().get(READ, HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert person.get(READ).status_code == 404
    # The key's own two requests: the person's request took nothing from it ...
    assert [by_key().status_code for _ in range(3)] == [404, 404, 429]
    # ... nor did the key's three from the person's.
    assert [person.get(READ).status_code for _ in range(2)] == [404, 429]


def test_when_the_cache_is_unreachable_people_are_not_limited(settings, make_user, cache_unreachable, caplog):
    settings.USER_API_RATE = "1/min"
    person = signed_in(make_user("viewer"))
    assert [person.get(READ).status_code for _ in range(3)] == [404, 404, 404]
    assert "api rate limit: cache unavailable, allowing the request" in caplog.text
