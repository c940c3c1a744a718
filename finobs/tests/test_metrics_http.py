"""HTTP request metrics: counted and timed by route name, method and status, with a bounded set of series."""

import uuid

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from delivery.tests.test_streams_sse import SSEClient, key_headers
from finobs.tests.scraping import scrape, series, value

REQUESTS = "finobs_http_requests_total"
DURATION = "finobs_http_request_duration_seconds"


@pytest.mark.django_db
def test_requests_are_counted_and_timed_by_route_name_method_and_status():
    before = scrape()
    client = Client()
    assert client.get("/health/live").status_code == 200
    assert client.get("/health/live").status_code == 200
    assert client.post("/health/live").status_code == 405
    after = scrape()

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta(REQUESTS, view="health-live", method="GET", status="200") == 2
    assert delta(REQUESTS, view="health-live", method="POST", status="405") == 1
    assert delta(f"{DURATION}_count", view="health-live", method="GET") == 2
    assert delta(f"{DURATION}_bucket", view="health-live", method="GET", le="+Inf") == 2
    assert delta(f"{DURATION}_sum", view="health-live", method="GET") > 0
    assert delta(f"{DURATION}_count", view="health-live", method="POST") == 1


@pytest.mark.django_db
def test_random_paths_ids_and_methods_add_no_series():
    """A scan of random paths, case references and methods lands in a fixed set of series."""
    client = Client()
    tokens = []

    def scan(rounds: int = 10) -> None:
        for _ in range(rounds):
            token = uuid.uuid4().hex
            tokens.append(token)
            client.get(f"/no/such/{token}")
            client.get(f"/api/v1/cases/{token}/")
            client.get(f"/static/{token}.css")
            client.generic(f"X{token[:8].upper()}", "/health/live")

    scan()
    first = scrape()
    scan()
    second = scrape()

    assert series(second, "finobs_http_") == series(first, "finobs_http_")
    labels = {pair for _name, pairs in series(second, "finobs_http_") for pair in pairs}
    assert not any(token in label_value for token in tokens for _label, label_value in labels)
    for view in ("unmatched", "static"):
        assert value(second, REQUESTS, view=view, method="GET", status="404") >= 20
    assert any(("view", "case-detail") in pairs for _name, pairs in series(second, REQUESTS))
    assert value(second, REQUESTS, view="health-live", method="other", status="405") >= 20


@pytest.mark.django_db(transaction=True)
async def test_under_asgi_sync_views_are_counted_and_an_open_stream_as_its_response_starts(api_key):
    """Through the deployed ASGI application: a sync view (the pooled handler) and the SSE feed (an async
    view, on Django's own handler), which is counted while it stays open."""
    before = await database_sync_to_async(scrape)()
    async with SSEClient("/health/live") as live:
        assert live.status == 200 and await live.body()
    async with SSEClient(headers=key_headers(api_key[1])) as stream:
        assert stream.status == 200
        during = await database_sync_to_async(scrape)()

    def delta(name, **labels):
        return value(during, name, **labels) - value(before, name, **labels)

    assert delta(REQUESTS, view="health-live", method="GET", status="200") == 1
    assert delta(REQUESTS, view="stream-decisions", method="GET", status="200") == 1
    assert delta(f"{DURATION}_count", view="stream-decisions", method="GET") == 1
