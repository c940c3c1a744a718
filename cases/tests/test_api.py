"""The cases API: same filters, services and permissions as the pages; API keys read their source only."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import Approval

pytestmark = pytest.mark.django_db


def post(client, url, body):
    return client.post(url, body, content_type="application/json")


def test_list_uses_the_worklist_filters(client, personas, open_case):
    high = open_case("a-1", risk_level="HIGH")
    medium = open_case("a-2", risk_level="MEDIUM")
    client.force_login(personas["alice"])
    body = client.get("/api/v1/cases/").json()
    assert {c["reference"] for c in body["results"]} == {high.reference, medium.reference}
    assert body["results"][0]["team"] == "team-a"
    only_high = client.get("/api/v1/cases/?severity=high").json()["results"]
    assert [c["reference"] for c in only_high] == [high.reference]
    assert client.get("/api/v1/cases/?status=bogus").status_code == 400


def test_detail_patch_and_the_full_lifecycle(client, personas, open_case):
    case = open_case("a-1", risk_level="HIGH", n=2)
    ref = case.reference
    client.force_login(personas["alice"])
    detail = client.get(f"/api/v1/cases/{ref}/").json()
    assert len(detail["transactions"]) == 2 and detail["timeline"][0]["kind"] == "opened"
    assert (
        client.patch(f"/api/v1/cases/{ref}/", {"title": "Card testing on a-1"}, content_type="application/json").json()[
            "title"
        ]
        == "Card testing on a-1"
    )
    assert post(client, f"/api/v1/cases/{ref}/assign/", {"assignee": "alice"}).json()["assignee"] == "alice"
    assert post(client, f"/api/v1/cases/{ref}/transition/", {"status": "investigating"}).json()["status"] == (
        "investigating"
    )
    illegal = post(client, f"/api/v1/cases/{ref}/transition/", {"status": "closed"})
    assert (illegal.status_code, illegal.json()["code"]) == (409, "illegal_transition")
    comment = post(client, f"/api/v1/cases/{ref}/comment/", {"body": "@carol card testing pattern"})
    assert comment.status_code == 201 and comment.json()["mentions"] == ["carol"]
    bad_mention = post(client, f"/api/v1/cases/{ref}/comment/", {"body": "@bob look"})
    assert bad_mention.status_code == 400 and bad_mention.json()["code"] == "invalid"
    proposed = post(client, f"/api/v1/cases/{ref}/close/", {"outcome": "confirmed_fraud", "rationale": "pattern"})
    assert proposed.json()["status"] == "pending_approval"
    assert post(client, f"/api/v1/cases/{ref}/approve/", {}).status_code == 403  # analysts do not approve

    client.force_login(personas["carol"])
    assert client.get(f"/api/v1/cases/{ref}/").json()["pending_approval"]["requested_by"] == "alice"
    approved = post(client, f"/api/v1/cases/{ref}/approve/", {"comment": "agreed"})
    assert approved.status_code == 200 and approved.json()["status"] == "closed"
    again = post(client, f"/api/v1/cases/{ref}/approve/", {})
    assert (again.status_code, again.json()["code"]) == (409, "no_pending_approval")
    assert Approval.objects.get(case=case).decided_by == personas["carol"]


def test_self_approval_is_refused_over_the_api(client, personas, open_case):
    case = open_case("a-1", risk_level="CRITICAL")
    client.force_login(personas["carol"])
    post(client, f"/api/v1/cases/{case.reference}/close/", {"outcome": "sar_filed", "rationale": "r"})
    response = post(client, f"/api/v1/cases/{case.reference}/approve/", {})
    assert response.status_code == 403
    assert Approval.objects.get(case=case).status == "pending"


def test_api_key_reads_its_own_source_only_and_never_writes(client, personas, open_case, api_key):
    _, raw = api_key
    own = open_case("a-1", source="acme")
    other = open_case("a-2", source="globex")
    headers = {"HTTP_X_WEBHOOK_KEY": raw}
    listed = client.get("/api/v1/cases/", **headers).json()["results"]
    assert [c["reference"] for c in listed] == [own.reference]
    assert client.get(f"/api/v1/cases/{other.reference}/", **headers).status_code == 404
    write = client.post(
        f"/api/v1/cases/{own.reference}/transition/", {"status": "triage"}, content_type="application/json", **headers
    )
    assert write.status_code == 403


def test_bad_input_is_a_400_with_the_error_shape(client, personas, open_case):
    case = open_case("a-1")
    client.force_login(personas["alice"])
    response = post(client, f"/api/v1/cases/{case.reference}/close/", {"outcome": "maybe"})
    assert response.status_code == 400
    assert set(response.json()) == {"code", "message", "details"}
    assert response.json()["details"].keys() >= {"outcome", "rationale"}
    unknown = post(client, f"/api/v1/cases/{case.reference}/assign/", {"assignee": "nobody-here"})
    assert unknown.status_code == 400


def test_schema_documents_the_case_endpoints(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert "/api/v1/cases/{reference}/close/" in schema["paths"]
    assert "/api/v1/cases/" in schema["paths"]


def test_list_query_count_is_constant_and_people_filters_are_empty_for_keys(
    client, personas, open_case, api_key, django_assert_num_queries
):
    open_case("a-1")
    client.force_login(personas["alice"])
    with CaptureQueriesContext(connection) as small:
        client.get("/api/v1/cases/")
    for i in range(2, 12):
        open_case(f"a-{i}", n=2)
    with django_assert_num_queries(len(small.captured_queries)):
        body = client.get("/api/v1/cases/").json()
    assert body["count"] == 11 and {c["transaction_count"] for c in body["results"]} == {1, 2}
    client.logout()
    _, raw = api_key
    response = client.get("/api/v1/cases/?queue=mine", HTTP_X_WEBHOOK_KEY=raw)
    assert response.status_code == 200 and response.json()["results"] == []
