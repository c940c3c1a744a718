"""Lists refuse a limit or offset they cannot read, with a 400 naming it, instead of quietly using a default."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("offset=null", "offset"),
        ("offset=-1", "offset"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=ten", "limit"),
    ],
)
def test_unreadable_pagination_is_a_400(client, api_key, query, field):
    response = client.get(f"/api/v1/cases/?{query}", HTTP_X_WEBHOOK_KEY=api_key[1])
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and field in response.json()["details"]


def test_readable_pagination_pages(client, api_key):
    response = client.get("/api/v1/cases/?limit=1000&offset=0", HTTP_X_WEBHOOK_KEY=api_key[1])
    assert response.status_code == 200 and response.json()["results"] == []
