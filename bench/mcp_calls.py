"""An MCP tool call against the REST request that does the same work, on one daphne process, in the same run.

    createdb -h 127.0.0.1 -U postgres finobs_bench_mcp   # once (any PostgreSQL database will do)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/finobs_bench_mcp python bench/mcp_calls.py

It migrates the database, trains a champion if there is none, starts daphne (finobs.asgi, as deployed) on a
free port and, `--calls` times each, interleaved so both paths see the same server state:
  * ingest one transaction: the `ingest_transactions` tool against POST /api/v1/transactions/ingest;
  * explain a stored transaction: the `explain_transaction` tool against GET
    /api/v1/transactions/{id}/explanation;
each from one client holding its connection (the SDK's ClientSession over Streamable HTTP; an httpx
client), and prints median and p95 wall time per call and the ratio MCP / REST. The MCP figure includes what
the protocol adds: JSON-RPC framing, the tool's input validation and structured output, the key's tool
scope and rate limit, the hop to a worker thread.
"""

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finobs.settings")
os.environ["MCP_TOOL_RATE"] = "1000000/min"  # the bench measures the calls, not the limit

ACCOUNTS = 2_000


def line(name: str, mcp_ms: list[float], rest_ms: list[float]) -> None:
    from ingest import percentile

    mcp_p50, rest_p50 = statistics.median(mcp_ms), statistics.median(rest_ms)
    print(
        f"{name:<22} MCP p50 {mcp_p50:6.1f} ms  p95 {percentile(mcp_ms, 95):6.1f} ms   "
        f"REST p50 {rest_p50:6.1f} ms  p95 {percentile(rest_ms, 95):6.1f} ms   MCP/REST {mcp_p50 / rest_p50:.2f}x"
    )


async def measure(base: str, raw_key: str, calls: int, records: list[dict]) -> None:
    import httpx
    import httpx2
    from mcp.client.session import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {raw_key}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=120) as http,
        streamable_http_client(f"{base}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
        httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as rest,
    ):
        await session.initialize()
        ingest_mcp, ingest_rest, explain_mcp, explain_rest, stored = [], [], [], [], []  # stored: (MCP's, REST's)
        warm = records[-2:]
        await session.call_tool("ingest_transactions", {"transactions": [warm[0]]})
        await rest.post("/api/v1/transactions/ingest", json=[warm[1]])
        for i in range(calls):
            mcp_record, rest_record = records[2 * i], records[2 * i + 1]
            started = time.perf_counter()
            result = await session.call_tool("ingest_transactions", {"transactions": [mcp_record]})
            ingest_mcp.append((time.perf_counter() - started) * 1000)
            assert not result.is_error and result.structured_content["accepted"] == 1, result.content
            started = time.perf_counter()
            response = await rest.post("/api/v1/transactions/ingest", json=[rest_record])
            ingest_rest.append((time.perf_counter() - started) * 1000)
            assert response.status_code in (200, 201) and response.json()["accepted"] == 1, response.text
            ids = (
                result.structured_content["decisions"][0]["transaction_id"],
                response.json()["decisions"][0]["transaction_id"],
            )
            stored.append(ids)
        # Each path explains transactions of its own, so each pays for computing an explanation the first time.
        for mcp_id, rest_id in stored:
            started = time.perf_counter()
            result = await session.call_tool("explain_transaction", {"transaction_id": mcp_id})
            explain_mcp.append((time.perf_counter() - started) * 1000)
            assert not result.is_error, result.content
            started = time.perf_counter()
            response = await rest.get(f"/api/v1/transactions/{rest_id}/explanation")
            explain_rest.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
    print(f"{calls} calls of each, one daphne process, one client per path holding its connection")
    line("ingest 1 transaction", ingest_mcp, ingest_rest)
    line("explain a transaction", explain_mcp, explain_rest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()

    import django

    django.setup()
    import logging

    from django.core.management import call_command
    from ingest import bench_api_key, bench_organisation, next_records, start_processes, wait_until_up

    from scoring.models import ModelVersion
    from scoring.services import model_train

    for name in ("httpx", "httpx2", "mcp"):
        logging.getLogger(name).setLevel(logging.WARNING)
    call_command("migrate", verbosity=0)
    organisation = bench_organisation()
    if not ModelVersion.objects.filter(status="champion").exists():
        model_train(actor="bench")
    raw_key = bench_api_key(organisation, scopes=["mcp", "ingest", "read"])
    records = next_records(2 * args.calls + 2, n_accounts=ACCOUNTS)
    port, processes = start_processes(1)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/health/live")
        asyncio.run(measure(base, raw_key, args.calls, records))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
