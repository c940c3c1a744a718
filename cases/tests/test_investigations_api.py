"""Investigations over the API and on the pages: ask, read the whole record, accept or reject a proposal;
the panel, the recommendations queue and the dashboard count; another team's are not found."""

import pytest

from cases.models import AgentAction, Investigation
from cases.services.investigations import investigation_run
from cases.tests.conftest import investigated

pytestmark = pytest.mark.django_db


def post(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


def test_ask_read_and_decide_over_the_api(client, case_with, personas):
    case = case_with("a-struct", [9500, 9400, 9300])
    client.force_login(personas["alice"])
    answer = post(client, f"/api/v1/cases/{case.reference}/investigations")
    assert answer.status_code == 202
    assert set(answer.json()) == {"id", "status"} and answer.json()["status"] in {"queued", "running", "done"}
    investigation_id = answer.json()["id"]
    if Investigation.objects.get(pk=investigation_id).status == "queued":
        investigation_run(investigation_id=investigation_id)
    body = client.get(f"/api/v1/investigations/{investigation_id}").json()
    assert body["status"] == "done" and body["case"] == case.reference
    assert body["recommendation"]["outcome"] == "confirmed_fraud"
    assert body["evidence"] and body["findings"] and body["trace"]
    by_kind = {a["kind"]: a for a in body["actions"]}
    assert by_kind["close_as"]["status"] == "proposed"
    # Rejecting needs a reason: a 400 in the error shape, nothing changes.
    refused = post(client, f"/api/v1/agent-actions/{by_kind['close_as']['id']}/reject", {})
    assert refused.status_code == 400 and {"code", "message", "details"} <= set(refused.json())
    assert AgentAction.objects.get(pk=by_kind["close_as"]["id"]).is_pending
    rejected = post(client, f"/api/v1/agent-actions/{by_kind['close_as']['id']}/reject", {"reason": "known payee"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert rejected.json()["reason"] == "known payee"
    accepted = post(client, f"/api/v1/agent-actions/{by_kind['assign']['id']}/accept")
    assert accepted.status_code == 200 and accepted.json()["status"] == "applied"
    case.refresh_from_db()
    assert case.assignee == personas["alice"]
    # Deciding twice is a conflict.
    assert post(client, f"/api/v1/agent-actions/{by_kind['assign']['id']}/accept").status_code == 409


def test_another_team_and_viewers(client, case_with, personas):
    case = case_with("a-struct", [9500, 9400, 9300])
    investigation = investigated(case, personas["alice"])
    action = AgentAction.objects.filter(investigation=investigation).first()
    client.force_login(personas["bob"])
    assert client.get(f"/api/v1/investigations/{investigation.pk}").status_code == 404
    assert post(client, f"/api/v1/agent-actions/{action.pk}/accept").status_code == 404
    assert post(client, f"/api/v1/cases/{case.reference}/investigations").status_code == 404
    client.force_login(personas["victor"])  # team A's viewer reads, cannot ask or decide
    assert client.get(f"/api/v1/investigations/{investigation.pk}").status_code == 200
    assert post(client, f"/api/v1/cases/{case.reference}/investigations").status_code == 403
    assert post(client, f"/api/v1/agent-actions/{action.pk}/accept").status_code == 403
    assert client.get("/api/v1/investigations/not-a-number").status_code == 404


def test_the_schema_documents_the_routes(client, personas):
    client.force_login(personas["carol"])
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    assert "post" in paths["/api/v1/cases/{reference}/investigations"]
    assert "202" in paths["/api/v1/cases/{reference}/investigations"]["post"]["responses"]
    assert "get" in paths["/api/v1/investigations/{id}"]
    assert "post" in paths["/api/v1/agent-actions/{id}/accept"] and "post" in paths["/api/v1/agent-actions/{id}/reject"]


def test_the_panel_the_queue_and_the_dashboard(client, case_with, personas):
    case = case_with("a-struct", [9500, 9400, 9300])
    client.force_login(personas["alice"])
    page = client.get(f"/cases/{case.reference}/investigation").content.decode()
    assert "No investigation yet" in page and 'data-testid="investigate"' in page
    response = client.post(f"/cases/{case.reference}/investigate")
    assert response.status_code == 302
    investigation = Investigation.objects.get(case=case)
    if investigation.status == "queued":
        investigation_run(investigation_id=investigation.pk)
    panel = client.get(f"/cases/{case.reference}/investigation").content.decode()
    assert "confirmed fraud" in panel and 'id="ev-pattern:structuring"' in panel
    assert 'href="#ev-pattern:structuring"' in panel and 'data-testid="accept-close_as"' in panel
    queue = client.get("/recommendations/").content.decode()
    assert case.reference in queue
    assert client.get("/recommendations/?kind=draft_rule").content.decode().count('data-kind="draft_rule"') == 1
    assert case.reference not in client.get("/recommendations/?severity=low").content.decode()
    assert 'data-testid="open-proposals">' in client.get("/").content.decode()
    close = AgentAction.objects.get(investigation=investigation, action_kind="close_as")
    client.post(f"/cases/{case.reference}/proposals/{close.pk}/reject", {"reason": ""})
    close.refresh_from_db()
    assert close.is_pending  # no reason, no rejection
    client.post(f"/cases/{case.reference}/proposals/{close.pk}/accept")
    case.refresh_from_db()
    assert case.status == "pending_approval"
    client.force_login(personas["bob"])
    assert case.reference not in client.get("/recommendations/").content.decode()
    assert client.get(f"/cases/{case.reference}/investigation").status_code == 404


def test_metrics_count_investigations_failures_and_proposals(client, case_with, personas):
    from prometheus_client.parser import text_string_to_metric_families

    from cases.services.proposals import agent_action_decide
    from cases.tests.test_agent_safety import ScriptedChatModel

    done = investigated(case_with("a-1", [9500, 9400, 9300]), personas["alice"])
    investigated(case_with("a-2", [9500, 9400]), personas["alice"], model=ScriptedChatModel(fail_with="down"))
    close = AgentAction.objects.get(investigation=done, action_kind="close_as")
    agent_action_decide(action=close, actor=personas["alice"], accept=False, reason="not convinced")
    client.force_login(personas["carol"])
    text = client.get("/metrics").content.decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("finobs_investigations", (("status", "done"),))] == 1
    assert samples[("finobs_investigations", (("status", "failed"),))] == 1
    assert samples[("finobs_investigation_failure_rate_last_hour", ())] == 0.5
    assert samples[("finobs_agent_proposals", (("status", "rejected"),))] == 1
    proposed = AgentAction.objects.filter(status="pending").count()
    assert samples[("finobs_agent_proposals", (("status", "proposed"),))] == proposed >= 1
