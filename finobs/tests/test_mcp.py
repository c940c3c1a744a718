"""The MCP server at /mcp, driven by the SDK's own client (Streamable HTTP + ClientSession) over real HTTP.

finobs' ASGI application (finobs.asgi, as daphne serves it) runs in this process under uvicorn with the
lifespan protocol off, as under daphne: the endpoint must start the SDK's session manager itself. One test
runs it under a real daphne process.
"""

import signal
import threading
import time
from contextlib import asynccontextmanager

import anyio
import httpx
import httpx2
import pytest
import uvicorn
from django.utils import timezone
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from prometheus_client import REGISTRY

from apikeys.services import api_key_create, api_key_revoke
from audit.models import AuditEvent
from cases.investigations.identity import agent_username
from cases.models import AgentAction, Case, CaseEvent, Investigation
from conftest import (
    child_database_env,
    default_organisation,
    ensure_roles,
    run_daphne,
    suspicious_record,
    transaction_record,
)
from finobs.tests.processes import free_port, start_serve, stop
from ingestion.services import ingest
from scoring.models import Transaction
from scoring.services.rules import rules_install_defaults

pytestmark = [pytest.mark.server]

ITEMS_IN_A_LONG_CALL = 1_000
TOOLS = {
    "score_transaction",
    "explain_transaction",
    "batch_score",
    "ingest_transactions",
    "portfolio_risk",
    "list_cases",
    "get_case",
    "drift_status",
    "model_leaderboard",
    "run_investigation",
    "get_investigation",
}


@pytest.fixture
def base_url(transactional_db, settings):
    """finobs.asgi.application served by uvicorn in a thread of this process, lifespan off (daphne runs none)."""
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    from finobs.asgi import application

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port, lifespan="off", log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def shipped_rules(transactional_db):
    """The shipped rules (a transactional test's flush removes those the migrations installed)."""
    rules_install_defaults(actor="tests")


def make_key(scopes=("mcp", "read", "ingest"), *, source="acme", organisation=None):
    return api_key_create(
        organisation=organisation or default_organisation(), name=f"assistant {source}", source=source, scopes=scopes
    )


@asynccontextmanager
async def session(base_url: str, raw_key: str, *, on_request=None):
    """An initialized ClientSession; `on_request(request)` is called as each HTTP request is about to go out."""
    hooks = {"request": [on_request]} if on_request else {}
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {raw_key}"}, timeout=60, event_hooks=hooks) as http,
        streamable_http_client(f"{base_url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as client,
    ):
        await client.initialize()
        yield client


def call(base_url: str, raw_key: str, tool: str, arguments: dict | None = None):
    async def go():
        async with session(base_url, raw_key) as client:
            return await client.call_tool(tool, arguments or {})

    return anyio.run(go)


def ok(result) -> dict:
    assert not result.is_error, result.content[0].text
    return result.structured_content


def error_text(result) -> str:
    assert result.is_error, result.structured_content
    return result.content[0].text


def tool_calls(tool: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("finobs_mcp_tool_calls_total", {"tool": tool, "outcome": outcome}) or 0.0


def test_lists_the_eleven_tools_with_descriptions_and_typed_outputs(base_url):
    _, raw = make_key()

    async def go():
        async with session(base_url, raw) as client:
            return (await client.list_tools()).tools

    listed = anyio.run(go)
    assert {t.name for t in listed} == TOOLS
    for tool in listed:
        assert len(tool.description) > 80, tool.name  # written for a model to read
        assert tool.output_schema and tool.output_schema["type"] == "object", tool.name
    ingest_tool = next(t for t in listed if t.name == "ingest_transactions")
    assert ingest_tool.annotations.read_only_hint is False
    assert ingest_tool.input_schema["properties"]["transactions"]["maxItems"] == 10_000
    run_tool = next(t for t in listed if t.name == "run_investigation")
    assert run_tool.annotations.read_only_hint is False and run_tool.annotations.idempotent_hint is False


def test_score_transaction_scores_without_storing_anything(base_url, champion, shipped_rules):
    _, raw = make_key()
    calm = ok(call(base_url, raw, "score_transaction", {"transaction": transaction_record(1)}))
    wild = ok(call(base_url, raw, "score_transaction", {"transaction": suspicious_record(2)}))
    assert calm["external_id"] == "tx-1" and calm["model_version"] == champion.version
    assert wild["flagged"] is True and wild["score"] > calm["score"]
    assert {hit["rule"] for hit in wild["rule_hits"]}  # the shipped rules see a huge 3 a.m. payment abroad
    assert Transaction.objects.count() == 0
    bad = call(base_url, raw, "score_transaction", {"transaction": transaction_record(3, currency="XXQ")})
    assert "currency" in error_text(bad)


def test_batch_score_scores_the_valid_items_and_names_the_invalid(base_url, champion):
    _, raw = make_key()
    items = [transaction_record(1), transaction_record(2, country="Germany"), suspicious_record(3)]
    result = ok(call(base_url, raw, "batch_score", {"transactions": items}))
    assert [s["index"] for s in result["scored"]] == [0, 2]
    assert result["errors"] == [{"index": 1, "field": "country", "message": result["errors"][0]["message"]}]
    assert result["flagged"] == 1
    assert Transaction.objects.count() == 0


def test_ingest_stores_once_by_external_id_with_the_keys_source_and_an_audit_event(base_url, champion):
    key, raw = make_key()
    items = [transaction_record(1), suspicious_record(2)]
    first = ok(call(base_url, raw, "ingest_transactions", {"transactions": items}))
    assert first["accepted"] == 2 and first["flagged"] == 1 and first["duplicates"] == []
    flagged = next(d for d in first["decisions"] if d["flagged"])
    assert flagged["case_reference"]  # a flagged transaction opened a case

    again = ok(call(base_url, raw, "ingest_transactions", {"transactions": items}))
    assert again["accepted"] == 0
    assert [d["external_id"] for d in again["duplicates"]] == ["tx-1", "tx-2"]
    assert again["duplicates"][1]["decision"]["transaction_id"] == flagged["transaction_id"]

    assert Transaction.objects.filter(source="acme").count() == 2
    events = AuditEvent.objects.filter(action="mcp.ingest_transactions").order_by("id")
    assert [(e.actor, e.payload["accepted"], e.payload["duplicates"]) for e in events] == [
        (key.audit_label, 2, 0),
        (key.audit_label, 0, 2),
    ]


def test_explain_transaction_gives_shap_contributions_and_rule_hits_of_the_keys_source_only(
    base_url, champion, shipped_rules
):
    _, raw = make_key()
    ingest([suspicious_record(7)], organisation=default_organisation(), source="acme", actor="tests")
    ingest([suspicious_record(8)], organisation=default_organisation(), source="other-bank", actor="tests")
    explained = ok(call(base_url, raw, "explain_transaction", {"external_id": "tx-7"}))
    assert explained["contributions"] and all("text" in c for c in explained["contributions"])
    assert explained["rule_hits"] and explained["flagged"] is True
    by_id = ok(call(base_url, raw, "explain_transaction", {"transaction_id": explained["transaction_id"]}))
    assert by_id["external_id"] == "tx-7"
    other = Transaction.objects.get(source="other-bank")
    assert "No transaction" in error_text(call(base_url, raw, "explain_transaction", {"transaction_id": other.pk}))


def test_portfolio_risk_counts_flags_ranks_and_trends_the_keys_source(base_url, champion):
    _, raw = make_key()
    organisation = default_organisation()
    records = [transaction_record(i, country="DE") for i in range(1, 5)]
    records += [suspicious_record(i, country="KP", account_id="acc-risky") for i in range(5, 8)]
    ingest(records, organisation=organisation, source="acme", actor="tests")
    ingest([suspicious_record(99, country="RU")], organisation=organisation, source="other-bank", actor="tests")

    risk = ok(call(base_url, raw, "portfolio_risk", {"window_hours": 24, "group_by": "country"}))
    assert risk["transactions"] == 7 and risk["bucket"] == "hour"
    assert risk["flagged"] >= 3 and risk["flagged_share"] == round(risk["flagged"] / 7, 4)
    assert risk["groups"][0]["key"] == "KP" and risk["groups"][0]["transactions"] == 3
    assert "RU" not in {g["key"] for g in risk["groups"]}  # another source's
    assert risk["top_accounts"][0]["key"] == "acc-risky"
    assert sum(p["transactions"] for p in risk["trend"]) == 7
    assert sum(risk["risk_levels"].values()) == 7
    old = ok(call(base_url, raw, "portfolio_risk", {"until": "2020-01-01T00:00:00Z", "window_hours": 720}))
    assert old["transactions"] == 0 and old["flagged_share"] is None and old["bucket"] == "day"


def test_list_cases_and_get_case_show_the_keys_source_with_evidence(base_url, champion, shipped_rules):
    _, raw = make_key()
    organisation = default_organisation()
    mine = ingest([suspicious_record(1, account_id="acc-a")], organisation=organisation, source="acme", actor="t")
    ingest([suspicious_record(2, account_id="acc-b")], organisation=organisation, source="other-bank", actor="t")
    reference = mine.decisions[0]["case_reference"]

    listed = ok(call(base_url, raw, "list_cases", {}))
    assert listed["total"] == 1 and [c["reference"] for c in listed["cases"]] == [reference]
    assert listed["cases"][0]["transaction_count"] == 1
    assert ok(call(base_url, raw, "list_cases", {"state": "closed"}))["total"] == 0
    assert ok(call(base_url, raw, "list_cases", {"q": "acc-a", "queue": "unassigned"}))["total"] == 1
    assert ok(call(base_url, raw, "list_cases", {"q": "acc-b"}))["total"] == 0

    case = ok(call(base_url, raw, "get_case", {"reference": reference.lower()}))
    assert case["case"]["reference"] == reference and case["case"]["account_id"] == "acc-a"
    assert [t["external_id"] for t in case["transactions"]] == ["tx-1"]
    assert case["transactions"][0]["flagged"] is True and case["transactions"][0]["rule_hits"]
    assert case["timeline"] and case["timeline"][0]["kind"]
    assert case["similar_cases"] == []  # no closed case yet

    other_reference = ok(call(base_url, make_key(source="other-bank")[1], "list_cases", {}))["cases"][0]["reference"]
    assert "No case" in error_text(call(base_url, raw, "get_case", {"reference": other_reference}))


def test_drift_status_and_model_leaderboard(base_url, champion):
    _, raw = make_key()
    drift = ok(call(base_url, raw, "drift_status"))
    assert drift["status"] == "none" and drift["checked_at"] is None
    board = ok(call(base_url, raw, "model_leaderboard"))
    assert board["models"][0]["version"] == champion.version and board["models"][0]["status"] == "champion"


@pytest.fixture
def investigations_in_process(transactional_db, settings):
    """Investigations run inside the call that queues them (the embedded default), whatever the broker; and the
    agent role its identity joins (a transactional test's flush empties the role groups)."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    ensure_roles()


def test_run_investigation_reads_only_the_keys_source_and_its_proposals_wait_for_a_person(
    base_url, champion, shipped_rules, investigations_in_process
):
    key, raw = make_key(("mcp", "read", "investigate"))
    organisation = default_organisation()
    own = ingest([suspicious_record(1, account_id="acc-a")], organisation=organisation, source="acme", actor="t")
    other = ingest(
        [suspicious_record(2, account_id="acc-a", external_id="theirs")],
        organisation=organisation,
        source="other-bank",
        actor="t",
    )
    reference = own.decisions[0]["case_reference"]

    queued = ok(call(base_url, raw, "run_investigation", {"case_reference": reference.lower()}))
    assert queued["case_reference"] == reference
    assert queued["status"] == "done"  # in-process: the run ended within the call

    result = ok(call(base_url, raw, "get_investigation", {"investigation_id": queued["investigation_id"]}))
    assert result["status"] == "done" and result["error"] == ""
    assert result["mode"] == "mcp" and result["requested_by"] == key.audit_label
    assert result["recommendation"]["outcome"] and result["findings"] and result["proposals"]
    evidence = {item["id"] for item in result["evidence"]}
    assert f"tx:{own.decisions[0]['transaction_id']}" in evidence
    assert f"tx:{other.decisions[0]['transaction_id']}" not in evidence  # the same account, another source's
    for cited in [result["recommendation"], *result["findings"], *result["proposals"]]:
        assert cited["evidence_ids"] and set(cited["evidence_ids"]) <= evidence
    assert {p["status"] for p in result["proposals"]} == {"proposed"}

    investigation = Investigation.objects.get(pk=queued["investigation_id"])
    assert investigation.api_key_id == key.pk
    assert investigation.requested_by.username == agent_username(organisation)
    assert not investigation.requested_by.has_perm("cases.decide_agent_action")
    proposals = AgentAction.objects.filter(investigation=investigation)
    assert {p.status for p in proposals} == {AgentAction.Status.PENDING}  # four-eyes: a person decides

    requested = AuditEvent.objects.get(action="investigation.requested", object_id=str(investigation.pk))
    assert requested.actor == key.audit_label and requested.payload["mode"] == "mcp"
    tool_event = AuditEvent.objects.get(action="mcp.run_investigation")
    assert tool_event.actor == key.audit_label and tool_event.payload["investigation_id"] == investigation.pk
    entry = CaseEvent.objects.get(case__reference=reference, kind=CaseEvent.Kind.INVESTIGATED)
    assert entry.data["mode"] == "mcp" and entry.data["requested_by"] == key.audit_label


def test_run_investigation_refuses_other_sources_a_run_under_way_and_keys_without_the_scope(
    base_url, champion, shipped_rules, investigations_in_process, make_user, settings
):
    _, raw = make_key(("mcp", "read", "investigate"))
    organisation = default_organisation()
    mine = ingest([suspicious_record(1, account_id="acc-a")], organisation=organisation, source="acme", actor="t")
    theirs = ingest(
        [suspicious_record(2, account_id="acc-b")], organisation=organisation, source="other-bank", actor="t"
    )
    reference = mine.decisions[0]["case_reference"]
    other_reference = theirs.decisions[0]["case_reference"]

    refused = error_text(call(base_url, raw, "run_investigation", {"case_reference": other_reference}))
    as_get_case = error_text(call(base_url, raw, "get_case", {"reference": other_reference}))
    assert refused.split(": ", 1)[1] == as_get_case.split(": ", 1)[1]  # after the tool's name, the same answer
    assert "No case of your source" in refused
    assert not Investigation.objects.exists()

    _, other_raw = make_key(("mcp", "read", "investigate"), source="other-bank")
    theirs_done = ok(call(base_url, other_raw, "run_investigation", {"case_reference": other_reference}))
    unseen = call(base_url, raw, "get_investigation", {"investigation_id": theirs_done["investigation_id"]})
    assert "No investigation" in error_text(unseen)

    analyst = make_user("analyst")
    under_way = Investigation.objects.create(
        case=Case.objects.get(reference=reference),  # a run under way, its worker busy
        requested_by=analyst,
        status=Investigation.Status.RUNNING,
        created_at=timezone.now(),
        started_at=timezone.now(),
    )
    conflict = error_text(call(base_url, raw, "run_investigation", {"case_reference": reference}))
    assert "already under way" in conflict and str(under_way.pk) in conflict
    assert Investigation.objects.filter(case=under_way.case).count() == 1

    _, reader = make_key(("mcp", "read"), source="reader")
    assert "'investigate' scope" in error_text(
        call(base_url, reader, "run_investigation", {"case_reference": reference})
    )

    settings.MCP_TOOL_RATE = "1/min"
    call(base_url, raw, "run_investigation", {"case_reference": reference})
    assert "Rate limit" in error_text(call(base_url, raw, "run_investigation", {"case_reference": reference}))


def test_a_key_of_another_organisation_sees_nothing_of_this_one(base_url, champion, organisation):
    ingest([suspicious_record(1)], organisation=default_organisation(), source="acme", actor="tests")
    _, raw = make_key(source="acme", organisation=organisation)
    assert ok(call(base_url, raw, "list_cases", {}))["total"] == 0
    assert "No transaction" in error_text(call(base_url, raw, "explain_transaction", {"external_id": "tx-1"}))
    assert ok(call(base_url, raw, "portfolio_risk", {}))["transactions"] == 0


def test_requests_without_a_valid_key_get_401_with_the_bearer_challenge(base_url):
    key, raw = make_key()
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream"}
    for authorization in (None, "Bearer fo_0000000000_nope", f"Bearer {raw[:-1]}x", "Basic abc"):
        sent = {**headers, **({"Authorization": authorization} if authorization else {})}
        response = httpx.post(f"{base_url}/mcp", json=body, headers=sent)
        assert response.status_code == 401, authorization
        assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    api_key_revoke(key=key)
    from apikeys.authentication import forget_cached_key

    forget_cached_key(instance=key)
    response = httpx.post(f"{base_url}/mcp", json=body, headers={**headers, "Authorization": f"Bearer {raw}"})
    assert response.status_code == 401

    async def with_the_sdk():
        async with session(base_url, "fo_0000000000_nope"):
            pass

    with pytest.raises(ExceptionGroup) as refused:  # the SDK's client cannot even initialize
        anyio.run(with_the_sdk)
    assert refused.group_contains(MCPError, match="error response")


def test_a_key_without_the_mcp_scope_gets_403_and_tools_need_their_own_scope(base_url, champion):
    _, rest_only = make_key(("read", "ingest"))
    response = httpx.post(
        f"{base_url}/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers={"Authorization": f"Bearer {rest_only}", "Accept": "application/json, text/event-stream"},
    )
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]

    _, reader = make_key(("mcp", "read"))
    denied = call(base_url, reader, "ingest_transactions", {"transactions": [transaction_record(1)]})
    assert "'ingest' scope" in error_text(denied)
    assert Transaction.objects.count() == 0
    _, writer = make_key(("mcp", "ingest"), source="writer")
    assert "'read' scope" in error_text(call(base_url, writer, "list_cases", {}))
    assert tool_calls("list_cases", "denied") >= 1


def test_each_key_and_tool_has_its_own_rate_limit_answered_with_a_retry_time(base_url, champion, settings):
    settings.MCP_TOOL_RATE = "2/min"
    _, raw = make_key()
    _, other = make_key(source="other-bank")
    before = tool_calls("model_leaderboard", "limited")
    for _ in range(2):
        ok(call(base_url, raw, "model_leaderboard"))
    refused = error_text(call(base_url, raw, "model_leaderboard"))
    assert "Rate limit" in refused and "Retry after" in refused
    seconds = int(refused.split("Retry after ")[1].split()[0])
    assert 1 <= seconds <= 30
    assert tool_calls("model_leaderboard", "limited") == before + 1
    ok(call(base_url, raw, "drift_status"))  # another tool
    ok(call(base_url, other, "model_leaderboard"))  # another key


def test_hosts_and_origins_outside_allowed_hosts_are_refused(base_url):
    _, raw = make_key()
    headers = {"Authorization": f"Bearer {raw}", "Accept": "application/json, text/event-stream"}
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    for extra, status in (({"Host": "attacker.example"}, 421), ({"Origin": "http://attacker.example"}, 403)):
        assert httpx.post(f"{base_url}/mcp", json=body, headers={**headers, **extra}).status_code == status
    allowed = httpx.post(f"{base_url}/mcp", json=body, headers={**headers, "Origin": "http://localhost:3000"})
    assert allowed.status_code == 200 and allowed.json()["result"]["tools"]


def test_the_rest_of_the_site_is_still_django(base_url):
    assert httpx.get(f"{base_url}/health/live").status_code == 200


@pytest.fixture
def daphne_url(transactional_db):
    """finobs.asgi under `python -m daphne`, as deployed, on the test database."""
    yield from run_daphne({**child_database_env(), "ALLOWED_HOSTS": "127.0.0.1,localhost"})


@pytest.mark.slow
def test_under_daphne_a_client_lists_the_tools_and_calls_them(daphne_url, champion):
    """daphne runs no lifespan: the endpoint starts the SDK's session manager on the first request."""
    _, raw = make_key()

    async def go():
        async with session(daphne_url, raw) as client:
            names = {t.name for t in (await client.list_tools()).tools}
            ingested = await client.call_tool("ingest_transactions", {"transactions": [suspicious_record(1)]})
            risk = await client.call_tool("portfolio_risk", {"window_hours": 1})
            return names, ingested, risk

    names, ingested, risk = anyio.run(go)
    assert names == TOOLS
    assert ok(ingested)["accepted"] == 1
    assert ok(risk)["transactions"] == 1
    # A second connection to the same process is served by the session manager already running.
    assert ok(call(daphne_url, raw, "list_cases", {}))["total"] == 1


@pytest.mark.slow
def test_sigterm_mid_call_answers_the_call_before_the_process_stops(transactional_db, champion):
    """A deploy's SIGTERM while an assistant's ingest is being served: daphne drains MCP calls as it does
    requests (finobs.daphne), so the call gets its answer and the batch is stored whole."""
    _, raw = make_key()
    items = [transaction_record(n, external_id=f"term-{n}") for n in range(ITEMS_IN_A_LONG_CALL)]
    process, base = start_serve({**child_database_env(), "ALLOWED_HOSTS": "127.0.0.1,localhost"})
    sending, answer = threading.Event(), {}

    async def note_the_call(request):
        if b'"tools/call"' in request.content:
            sending.set()

    async def ingest_over_mcp():
        async with session(base, raw, on_request=note_the_call) as client:
            # The schemas the client checks a result against, fetched now: after SIGTERM nothing new connects.
            await client.list_tools()
            answer["result"] = await client.call_tool("ingest_transactions", {"transactions": items})

    try:
        sender = threading.Thread(target=lambda: anyio.run(ingest_over_mcp))
        sender.start()
        assert sending.wait(timeout=60)
        time.sleep(0.5)  # the call is in: its batch is being validated, scored and stored
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        sender.join(timeout=60)
    finally:
        stop(process)
    assert ok(answer["result"])["accepted"] == ITEMS_IN_A_LONG_CALL
    assert Transaction.objects.filter(external_id__startswith="term-").count() == ITEMS_IN_A_LONG_CALL
