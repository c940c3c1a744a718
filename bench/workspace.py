"""Workspace page times at volume: 100,000 cases and 1,000,000 transactions with decisions in PostgreSQL.

Includes the transaction search (page and API) over those 1,000,000 transactions.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/finobs_bench_ws python bench/workspace.py

Creates the database if needed, migrates it and seeds it once with SQL (generate_series, no ORM row
by row): 100,000 accounts (`--cases`) x 10 transactions, each with a decision and its 11-feature vector; one
case per account (40% closed with an outcome, the rest spread over the open statuses), routed to
10 teams of 3 analysts, 3 transactions linked per case. Then it times requests through Django's
full stack in-process (middleware, session, permissions, templates; no network) for an analyst of
one team and a compliance officer (all of the default organisation, or of `BENCH_ORGANISATION`, a slug),
and prints p50/p95 server time and query counts for the
worklist (unfiltered and filtered), the case page and its similar-cases fragment, next to a
baseline measured in the same run, request for request alternately so both see the same load:
the same pages with the naive query shape (no select_related, a COUNT per row, every
transaction's decision fetched one by one, similar cases compared against every closed case).
"""

import argparse
import os
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finobs.settings")
# The bench asks one person's similar cases far more often than a person may (USER_SIMILAR_CASES_RATE).
os.environ.setdefault("USER_SIMILAR_CASES_RATE", "1000000/min")

N_CASES = 100_000
TX_PER_ACCOUNT = 10
LINKED_PER_CASE = 3
N_TEAMS = 10
FEATURES = 11


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1].split("?")[0]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def seed(organisation, n_cases: int = N_CASES) -> None:
    """The rows of `organisation` (the current one): its teams, people, model version, transactions and cases."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection

    from cases.models import Case, Team
    from organisations.models import Membership
    from scoring.models import ModelVersion

    if Case.objects.count() >= n_cases:
        print(f"seed: {Case.objects.count():,} cases already there")
        return
    started = time.perf_counter()
    users = get_user_model()
    mv = ModelVersion.objects.create(
        version=1,
        status="champion",
        algorithm="isolation_forest",
        artifact=b"",
        artifact_sha256="0" * 64,
        feature_names=[f"f{i}" for i in range(FEATURES)],
        score_reference={},
        thresholds={"HIGH": 0.8},
        metrics={"holdout": {"precision": 0.6, "recall": 0.7, "f1": 0.65, "alert_rate": 0.02}},
    )
    analyst_group, compliance_group = Group.objects.get(name="analyst"), Group.objects.get(name="compliance")
    for t in range(1, N_TEAMS + 1):
        team = Team.objects.create(name=f"Team {t}", slug=f"team-{t}")
        for a in range(3):
            user = users.objects.create_user(username=f"analyst-{t}-{a}", password=None)
            user.groups.add(analyst_group)
            Membership.objects.create(user=user, organisation=organisation)
            team.members.add(user)
    compliance = users.objects.create_user(username="compliance-1", password=None)
    compliance.groups.add(compliance_group)
    Membership.objects.create(user=compliance, organisation=organisation)
    team_ids = list(Team.objects.order_by("id").values_list("id", flat=True))
    analyst_ids = list(
        users.objects.filter(username__startswith="analyst-").order_by("id").values_list("id", flat=True)
    )
    n_tx = n_cases * TX_PER_ACCOUNT
    features = ", ".join("round(random()::numeric, 4)" for _ in range(FEATURES))
    with connection.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        cur.execute(
            """
            INSERT INTO scoring_transaction (id, organisation_id, source, external_id, account_id, amount, currency,
                occurred_at, merchant_id, merchant_category, country, channel, metadata, received_at, label)
            SELECT g, %(org)s, 'bench', 'tx-' || g, 'acc-' || (g %% %(cases)s),
                   round((random() * 5000)::numeric, 2), 'EUR',
                   now() - (g %% 100000) * interval '1 minute' - (g / 100000) * interval '5 minutes',
                   'm-' || (g %% 5000), '5411', 'DE', 'online', '{}', now(), 'unknown'
            FROM generate_series(1, %(n)s) g
            """,
            {"org": organisation.pk, "cases": n_cases, "n": n_tx},
        )
        cur.execute(
            f"""
            INSERT INTO scoring_decision (organisation_id, transaction_id, model_version_id, score, risk_level,
                flagged, rule_hits, explanation, features, arm, latency_ms, created_at)
            SELECT %(org)s, g, %(mv)s, s, CASE WHEN s > 0.97 THEN 'CRITICAL' WHEN s > 0.9 THEN 'HIGH'
                                      WHEN s > 0.6 THEN 'MEDIUM' ELSE 'LOW' END,
                   (g / %(cases)s) < {LINKED_PER_CASE}, '[]', NULL, jsonb_build_array({features}), '', 0.05,
                   now() - (g %% 20160) * interval '1 minute'
            FROM (SELECT g, random() AS s FROM generate_series(1, %(n)s) g) x
            """,  # noqa: S608  (constants only)
            {"org": organisation.pk, "mv": mv.pk, "cases": n_cases, "n": n_tx},
        )
        cur.execute(
            """
            INSERT INTO cases_case (id, organisation_id, reference, title, account_id, status, severity, peak_severity,
                priority, team_id, assignee_id, sla_due_at, opened_at, updated_at, closed_at, outcome, rationale,
                description, origin, version)
            SELECT g, %(org)s, 'CASE-2026-' || lpad(g::text, 6, '0'),
                   '3 flagged transactions on account acc-' || (g %% %(cases)s),
                   'acc-' || (g %% %(cases)s), st, sev, sev,
                   CASE sev WHEN 'critical' THEN 1 WHEN 'high' THEN 2 WHEN 'medium' THEN 3 ELSE 4 END,
                   (%(teams)s::bigint[])[1 + g %% %(nteams)s],
                   CASE WHEN (g / 1000) %% 3 = 0 THEN NULL ELSE (%(analysts)s::bigint[])[1 + g %% %(nanalysts)s] END,
                   now() - g * interval '20 seconds' + interval '72 hours', now() - g * interval '20 seconds',
                   now() - g * interval '10 seconds',
                   CASE WHEN st = 'closed' THEN now() - g * interval '10 seconds' END,
                   CASE WHEN st = 'closed' THEN (%(outcomes)s::text[])[1 + g %% 4] ELSE '' END,
                   CASE WHEN st = 'closed' THEN 'reviewed' ELSE '' END, '', 'flagged', 1
            FROM (SELECT g, (%(statuses)s::text[])[1 + (g / 10) %% 10] AS st,
                         (%(severities)s::text[])[1 + (g / 100) %% 5] AS sev
                  FROM generate_series(1, %(cases)s) g) x
            """,
            {
                "org": organisation.pk,
                "cases": n_cases,
                "teams": team_ids,
                "nteams": len(team_ids),
                "analysts": analyst_ids,
                "nanalysts": len(analyst_ids),
                # 40% closed, the rest spread over the open statuses
                "statuses": ["new", "triage", "investigating", "pending_approval", "escalated", *["closed"] * 5],
                "outcomes": ["false_positive", "confirmed_fraud", "sar_filed", "no_action"],
                "severities": ["low", "medium", "medium", "high", "critical"],
            },
        )
        cur.execute(
            """
            INSERT INTO cases_casetransaction (organisation_id, case_id, transaction_id, added_at)
            SELECT c.organisation_id, c.id, t.id, c.opened_at FROM cases_case c
            JOIN generate_series(0, %(linked)s - 1) k ON true
            JOIN scoring_transaction t ON t.id = (c.id %% %(cases)s) + k * %(cases)s AND t.id > 0
            """,
            {"linked": LINKED_PER_CASE, "cases": n_cases},
        )
        cur.execute(
            """
            INSERT INTO cases_caseevent (organisation_id, case_id, kind, actor, data, created_at)
            SELECT organisation_id, id, 'opened', 'api:bench', '{"max_risk_level": "HIGH", "transaction_ids": []}',
                   opened_at
            FROM cases_case
            """
        )
        for table in ("scoring_transaction", "cases_case", "cases_caseevent", "cases_casetransaction"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608
        cur.execute(
            "INSERT INTO cases_casecounter (organisation_id, year, last) VALUES (%s, 2026, %s) ON CONFLICT DO NOTHING",
            [organisation.pk, n_cases],
        )
    with connection.cursor() as cur:  # outside a transaction: VACUUM sets the visibility map for index-only scans
        cur.execute("VACUUM ANALYZE")
    print(f"seed: {n_cases:,} cases, {n_tx:,} transactions and decisions in {time.perf_counter() - started:.0f} s")


@contextmanager
def naive_query_shape():
    """The pages as first written: no select_related, a COUNT per row, N+1 decisions, uncapped similarity,
    transaction search by page number with each row's case fetched on its own."""
    from django.core.paginator import Paginator

    from cases import selectors, similarity
    from cases.models import CaseTransaction

    real_worklist = selectors.worklist

    def worklist(user, params, **kwargs):
        result = real_worklist(user, params, **kwargs)
        page = Paginator(result.page.paginator.object_list.select_related(None), result.page.paginator.per_page)
        result.page = page.get_page(kwargs.get("page_number", 1))
        for case in result.page.object_list:
            case.transaction_count = case.links.count()
        return result

    def case_transactions(case):
        links = list(CaseTransaction.objects.filter(case=case).order_by("-id")[: selectors.CASE_TRANSACTIONS_LIMIT])
        for link in links:
            link.transaction.decision.model_version  # noqa: B018  (one query each, as N+1 code does)
        return links

    real_search = selectors.transaction_search

    def transaction_search(user, params, *, cursor=None, limit=None, queryset=None):
        """Page numbers (COUNT, then OFFSET) and each row's case and decision looked up one by one."""
        result = real_search(user, params, limit=1, queryset=queryset)
        if result.filterset.errors:
            return result
        rows = result.filterset.qs.select_related(None).order_by("-occurred_at", "-id")
        page = Paginator(rows, limit or 50).get_page(1)
        result.rows = list(page.object_list)
        for row in result.rows:
            row.decision  # noqa: B018  (one query each)
            link = CaseTransaction.objects.filter(transaction=row).select_related("case").first()
            row.case_reference = link.case.reference if link else None
        result.case_of = {row.pk: row.case_reference for row in result.rows if row.case_reference}
        return result

    with (
        mock.patch.object(selectors, "worklist", worklist),
        mock.patch.object(selectors, "transaction_search", transaction_search),
        mock.patch.object(selectors, "case_transactions", case_transactions),
        mock.patch.object(similarity, "CANDIDATE_CASES", 1_000_000),
        mock.patch("django.conf.settings.CASES_SIMILAR_CANDIDATES", 10_000_000),
    ):
        yield


def timed_get(client, url: str) -> tuple[float, int]:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    reset_queries()  # the query log is capped at 9,000 entries
    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        response = client.get(url)
        elapsed_ms = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (url, response.status_code)
    return elapsed_ms, len(ctx.captured_queries)


def measure(client, url: str, n: int, n_baseline: int) -> dict:
    """Alternate optimised and naive requests, so both see the same machine load (2 shared cores)."""
    for _ in range(3):  # warm: template compilation, connection, caches
        timed_get(client, url)
    fast, slow, fast_q, slow_q = [], [], 0, 0
    for i in range(n):
        elapsed, fast_q = timed_get(client, url)
        fast.append(elapsed)
        if i < n_baseline:
            with naive_query_shape():
                elapsed, slow_q = timed_get(client, url)
            slow.append(elapsed)

    def pct(values, q):
        values = sorted(values)
        return values[min(len(values) - 1, round(q * (len(values) - 1)))]

    return {
        "p50": statistics.median(fast),
        "p95": pct(fast, 0.95),
        "queries": fast_q,
        "b50": statistics.median(slow),
        "b95": pct(slow, 0.95),
        "bqueries": slow_q,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=40, help="requests per page and shape")
    parser.add_argument(
        "--cases", type=int, default=N_CASES, help="cases to seed (10 transactions each) in an empty database"
    )
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database (e.g. .../finobs_bench_ws).")
    ensure_database(url)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from bench.ingest import bench_organisation
    from cases.models import Case

    call_command("migrate", verbosity=0)
    seed(bench_organisation(), args.cases)
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("ANALYZE cases_case")
    analyst = get_user_model().objects.get(username="analyst-1-0")
    compliance = get_user_model().objects.get(username="compliance-1")
    open_case = Case.objects.visible_to(analyst).open().order_by("-opened_at").first()
    pages = [
        (f"worklist, analyst (one team's ~{args.cases // N_TEAMS:,} cases)", analyst, "/cases/"),
        (
            "worklist, analyst, filtered + sorted",
            analyst,
            "/cases/?queue=unassigned&severity=high&severity=critical&ordering=sla",
        ),
        (f"worklist, compliance (all {args.cases:,} cases)", compliance, "/cases/"),
        ("worklist, compliance, text search", compliance, f"/cases/?q={open_case.account_id}&state=all"),
        ("case page", analyst, f"/cases/{open_case.reference}/"),
        (
            f"transaction search, analyst (of {args.cases * TX_PER_ACCOUNT:,})",
            analyst,
            f"/transactions/?account={open_case.account_id}",
        ),
        (
            "transaction search, compliance, range + flagged",
            compliance,
            f"/transactions/?account={open_case.account_id}&flagged=true&from=2000-01-01T00:00",
        ),
        (
            "transaction search API, compliance",
            compliance,
            f"/api/v1/transactions/?account={open_case.account_id}",
        ),
        (
            f"similar cases fragment, analyst (~{args.cases * 4 // 100:,} closed cases)",
            analyst,
            f"/cases/{open_case.reference}/similar",
        ),
        (
            f"similar cases fragment, compliance ({args.cases * 4 // 10:,} closed)",
            compliance,
            f"/cases/{open_case.reference}/similar",
        ),
    ]
    header = f"{'page':<52} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} | {'naive p50':>9} {'p95':>8} {'queries':>8}"
    print(f"\n{header} | ratio p95")
    for label, user, path in pages:
        client = Client()  # Django's full stack in-process (no test instrumentation of templates)
        client.force_login(user)
        naive_n = 5 if label.startswith("similar cases fragment, compliance") else max(10, args.n // 2)
        m = measure(client, path, args.n, naive_n)
        print(
            f"{label:<52} {m['p50']:>8.1f} {m['p95']:>8.1f} {m['queries']:>8} | {m['b50']:>9.1f} {m['b95']:>8.1f} "
            f"{m['bqueries']:>8} | {m['b95'] / m['p95']:>6.1f}x"
        )


if __name__ == "__main__":
    main()
