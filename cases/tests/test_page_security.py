"""Pages refuse a forbidden POST with 403, carry a content security policy, and are never stored by caches."""

import pytest

from cases.models import Approval
from cases.services import case_close

pytestmark = pytest.mark.django_db


def test_a_forbidden_post_is_a_403_not_a_redirect(client, personas, open_case):
    case = open_case("a-1", risk_level="HIGH")
    client.force_login(personas["victor"])  # a viewer of team A: reads, never works
    assert client.post(f"/cases/{case.reference}/claim").status_code == 403
    close = {"outcome": "no_action", "rationale": "nothing found"}
    assert client.post(f"/cases/{case.reference}/close", close).status_code == 403
    case_close(case=case, outcome="confirmed_fraud", rationale="pattern", actor=personas["alice"])
    approval = Approval.objects.get(case=case)
    client.force_login(personas["bob"])  # cannot see team A's case: its approval is not found
    assert client.post(f"/approvals/case_closure/{approval.pk}/approve", {"note": "ok"}).status_code == 404
    client.force_login(personas["alice"])  # the requester approving her own closure
    assert client.post(f"/approvals/case_closure/{approval.pk}/approve", {"note": "ok"}).status_code == 403
    approval.refresh_from_db()
    assert approval.status == "pending"


def test_pages_and_the_api_carry_the_policy_and_are_not_stored(client, personas, open_case):
    case = open_case("a-1")
    client.force_login(personas["alice"])
    for url in ("/", "/cases/", f"/cases/{case.reference}/", f"/api/v1/cases/{case.reference}/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy


def test_the_api_docs_page_loads_its_assets_from_this_server(client):
    page = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower() and "<script>" not in page  # no inline code: its start-up is a file
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
