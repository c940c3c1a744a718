"""Ingest and workspace with ten organisations' data in one database, as ratios against one organisation's.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/finobs_bench_org1 REDIS_URL=redis://127.0.0.1:6379/9
    python bench/ten_organisations.py --seed      # once: seeds both databases
    python bench/ten_organisations.py --on-copy   # measures on copies of both, dropped after

Two PostgreSQL databases on the server of DATABASE_URL: `--single` (finobs_bench_org1) holds one organisation,
`--ten` (finobs_bench_org10) ten, each with exactly the same data as the first, so the measured organisation
(the default one, pk 1) has the same rows in both and the second database holds ten times as many in all.

`--seed` builds each organisation as a live one is: the shipped rules and default model installed, 10 teams
of 3 analysts and a compliance officer (members of it), a routing rule per team; then `--accounts` accounts'
`--days` days of generated traffic (10,000 x 6: about 98,000 transactions) stored through `ingest()` in
batches of 10,000, the ten organisations' batches interleaved day by day as their traffic would arrive, so
profiles, history and the cases the pipeline opens are real. The pipeline opens cases on flagged traffic
only (about two accounts in a hundred here); the earlier casework is added by SQL, a case for every account
that has none (on its latest 3 transactions, routed to its team, with its first timeline event). Then each
organisation's cases are given the same lifecycle by SQL (40% closed with an outcome, the open ones spread over the open
statuses, two in three assigned to an analyst of their team), the seed's outbox events are marked published
and the databases vacuumed. A database already seeded is left as it is.

Then, in one process holding a connection to each database and switching Django's default connection
between them, alternately so both see the same machine load (2 shared cores), for the default organisation:
  * ingest: `--repeat` fresh 10,000-item batches through `ingest()` in-process (validated, scored with
    history, stored, cases opened, audit and outbox written; no HTTP), the same records on both databases,
    which goes first alternating; median and best. Then `--single-items` single-item `ingest()` calls from
    one thread, item by item alternately: p50 / p95;
  * workspace: `/cases/` for an analyst of one team and for a compliance officer, and a case page, through
    Django's whole stack in-process (test Client, as bench/workspace.py), `-n` requests each, request by
    request alternately: p50 / p95 and query counts;
and prints each figure for both databases with the ratio ten / single. Measuring ingest adds rows to the
organisation's history; `--on-copy` measures on copies of both databases (CREATE DATABASE ... TEMPLATE),
dropped after, so that every run starts from the seeded rows. Needs REDIS_URL: ingest's tasks (relay,
explanations) are queued there, as in production, for no worker, and dropped after the run.
"""

import argparse
import contextlib
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finobs.settings")

SEED = 7
SEED_SOURCE = "bench-seed"
BATCH = 10_000
N_TEAMS = 10
ANALYSTS_PER_TEAM = 3


def database_url(name: str) -> str:
    return urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path="/" + name))


def ensure_database(name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def connection_to(name: str):
    """A Django connection (alias "default") to database `name`, kept open for the whole run."""
    from django.db import connections
    from django.db.utils import load_backend

    settings_dict = {**connections.settings["default"], "NAME": name, "CONN_MAX_AGE": None}
    return load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, "default")


def use(wrapper) -> None:
    """Make `wrapper` Django's default connection (what the ORM, ingest() and the views use)."""
    from django.db import connections

    connections["default"] = wrapper


def clear_task_queue() -> None:
    """Drop the tasks ingest() queued (relay, explanations) for the worker that does not run here."""
    import redis

    redis.Redis.from_url(os.environ["REDIS_URL"]).delete("celery")


# --- seeding -------------------------------------------------------------------------------------


def organisation_setup(organisation) -> None:
    """What a new organisation gets, and the people of the workspace bench (call inside its context)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from cases.models import RoutingRule, Team
    from organisations.models import Membership
    from scoring.models import ModelVersion
    from scoring.services import model_install_default
    from scoring.services.rules import rules_install_defaults

    rules_install_defaults(actor="bench-seed")
    if not ModelVersion.objects.filter(status="champion").exists():
        model_install_default(actor="bench-seed")
    users = get_user_model()
    analyst, compliance = Group.objects.get(name="analyst"), Group.objects.get(name="compliance")
    slug = organisation.slug
    for t in range(N_TEAMS):
        team = Team.objects.create(name=f"Team {t}", slug=f"team-{t}")
        # Generated accounts are acc-<seed>-<5 digits>: with 10,000 of them, a tenth per team.
        RoutingRule.objects.create(name=f"Team {t}", priority=t, team=team, account_prefix=f"acc-{SEED}-{t:02d}")
        for a in range(ANALYSTS_PER_TEAM):
            user = users.objects.create_user(username=f"{slug}-analyst-{t}-{a}", password=None)
            user.groups.add(analyst)
            Membership.objects.create(user=user, organisation=organisation)
            team.members.add(user)
    user = users.objects.create_user(username=f"{slug}-compliance", password=None)
    user.groups.add(compliance)
    Membership.objects.create(user=user, organisation=organisation)


def cases_for_every_account(organisation) -> None:
    """The pipeline opens a case only on flagged traffic (about two accounts in a hundred here): the organisation's
    earlier casework is added by SQL, a case for every account that has none, on its latest 3 transactions,
    routed to its team as the routing rules would, with its timeline's first event."""
    from django.db import connection

    year = 2026
    with connection.cursor() as cur:
        cur.execute("SELECT coalesce(max(last), 0) FROM cases_casecounter WHERE organisation_id = %s AND year = %s",
                    [organisation.pk, year])  # fmt: skip
        (last,) = cur.fetchone()
        cur.execute(
            """
            INSERT INTO cases_case (organisation_id, reference, title, account_id, status, severity, peak_severity,
                priority, team_id, assignee_id, sla_due_at, opened_at, updated_at, closed_at, outcome, rationale)
            SELECT %(org)s, 'CASE-' || %(year)s || '-' || lpad((%(last)s + row_number() OVER w)::text, 6, '0'),
                   '3 flagged transactions on account ' || a.account_id, a.account_id, 'new', a.sev, a.sev,
                   CASE a.sev WHEN 'critical' THEN 1 WHEN 'high' THEN 2 WHEN 'medium' THEN 3 ELSE 4 END,
                   t.id, NULL, a.last_at + interval '72 hours', a.last_at, a.last_at, NULL, '', ''
            FROM (SELECT account_id, max(occurred_at) AS last_at,
                         (%(severities)s::text[])[1 + abs(hashtext(account_id)) %% 5] AS sev
                  FROM scoring_transaction WHERE organisation_id = %(org)s GROUP BY account_id) a
            LEFT JOIN cases_team t ON t.organisation_id = %(org)s
                 AND t.slug = 'team-' || left(split_part(a.account_id, '-', 3), 2)::int
            WHERE NOT EXISTS (SELECT 1 FROM cases_case c
                              WHERE c.organisation_id = %(org)s AND c.account_id = a.account_id)
            WINDOW w AS (ORDER BY a.account_id)
            """,
            {
                "org": organisation.pk,
                "year": year,
                "last": last,
                "severities": ["low", "medium", "medium", "high", "critical"],
            },
        )
        added = cur.rowcount
        cur.execute(
            """
            INSERT INTO cases_casecounter (organisation_id, year, last) VALUES (%s, %s, %s)
            ON CONFLICT (organisation_id, year) DO UPDATE SET last = EXCLUDED.last
            """,
            [organisation.pk, year, last + added],
        )
        cur.execute(
            """
            INSERT INTO cases_casetransaction (organisation_id, case_id, transaction_id, added_at)
            SELECT c.organisation_id, c.id, t.id, c.opened_at FROM cases_case c
            JOIN LATERAL (SELECT id FROM scoring_transaction t
                          WHERE t.organisation_id = c.organisation_id AND t.account_id = c.account_id
                          ORDER BY t.occurred_at DESC LIMIT 3) t ON true
            WHERE c.organisation_id = %(org)s
              AND NOT EXISTS (SELECT 1 FROM cases_casetransaction x WHERE x.case_id = c.id)
            """,
            {"org": organisation.pk},
        )
        cur.execute(
            """
            INSERT INTO cases_caseevent (organisation_id, case_id, kind, actor, data, created_at)
            SELECT c.organisation_id, c.id, 'opened', 'api:bench', '{"max_risk_level": "HIGH", "transaction_ids": []}',
                   c.opened_at
            FROM cases_case c
            WHERE c.organisation_id = %(org)s AND NOT EXISTS (SELECT 1 FROM cases_caseevent e WHERE e.case_id = c.id)
            """,
            {"org": organisation.pk},
        )


def case_lifecycle(organisation) -> None:
    """The pipeline only opens cases: give every organisation's the same mix of states, by reference number."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            """
            WITH analysts AS (
                SELECT m.team_id, array_agg(m.user_id ORDER BY m.user_id) AS ids
                FROM cases_team_members m JOIN cases_team t ON t.id = m.team_id
                WHERE t.organisation_id = %(org)s GROUP BY m.team_id
            ), numbered AS (
                SELECT c.id, c.team_id, substring(c.reference FROM 11)::int AS n FROM cases_case c
                WHERE c.organisation_id = %(org)s
            )
            UPDATE cases_case c SET
                status = CASE WHEN x.n %% 10 < 4 THEN 'closed' ELSE (%(open)s::text[])[1 + x.n %% 5] END,
                closed_at = CASE WHEN x.n %% 10 < 4 THEN c.opened_at + interval '2 days' END,
                outcome = CASE WHEN x.n %% 10 < 4 THEN (%(outcomes)s::text[])[1 + x.n %% 4] ELSE '' END,
                rationale = CASE WHEN x.n %% 10 < 4 THEN 'reviewed' ELSE '' END,
                assignee_id = CASE WHEN x.n %% 3 = 0 THEN NULL ELSE a.ids[1 + x.n %% %(per_team)s] END
            FROM numbered x LEFT JOIN analysts a ON a.team_id = x.team_id
            WHERE c.id = x.id
            """,
            {
                "org": organisation.pk,
                "open": ["new", "triage", "investigating", "pending_approval", "escalated"],
                "outcomes": ["false_positive", "confirmed_fraud", "sar_filed", "no_action"],
                "per_team": ANALYSTS_PER_TEAM,
            },
        )


def seed(name: str, n_organisations: int, *, accounts: int, days: int) -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from delivery.models import OutboxEvent
    from ingestion.services import ingest
    from organisations.context import organisation_context
    from organisations.models import Organisation
    from scoring.generator import DEFAULT_START, generate
    from scoring.models import Transaction

    call_command("migrate", verbosity=0)
    if Transaction.objects.filter(source=SEED_SOURCE).exists():
        print(f"seed {name}: seeded already ({Transaction.objects.count():,} transactions)")
        return
    started = time.perf_counter()
    organisations = [Organisation.objects.get(pk=1)]
    organisations += [
        Organisation.objects.get_or_create(slug=f"bench-{i}", defaults={"name": f"Bench organisation {i}"})[0]
        for i in range(2, n_organisations + 1)
    ]
    for organisation in organisations:
        with organisation_context(organisation):
            organisation_setup(organisation)
    total = 0
    for day in range(days):
        records = generate(n_accounts=accounts, days=1, seed=SEED, start=DEFAULT_START + timedelta(days=day)).records
        for start in range(0, len(records), BATCH):
            chunk = [{**r, "external_id": f"d{day}-{r['external_id']}"} for r in records[start : start + BATCH]]
            for organisation in organisations:  # the same traffic for each, interleaved as it would arrive
                total += ingest(chunk, organisation=organisation, source=SEED_SOURCE, actor="bench-seed").accepted
        clear_task_queue()
        print(f"seed {name}: day {day + 1}/{days}, {total:,} transactions, {time.perf_counter() - started:.0f} s")
    for organisation in organisations:
        cases_for_every_account(organisation)
        case_lifecycle(organisation)
    OutboxEvent.objects.filter(published_at__isnull=True).update(published_at=timezone.now())
    with connection.cursor() as cur:  # outside a transaction: VACUUM sets the visibility map for index-only scans
        cur.execute("VACUUM ANALYZE")
    elapsed = time.perf_counter() - started
    print(f"seed {name}: {n_organisations} organisation(s), {total:,} transactions in {elapsed:.0f} s")


# --- measuring -----------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def next_records(n: int, accounts: int, *, after_hours: float = 1.0) -> list[dict]:
    """The default organisation's accounts' next `n` transactions, after its latest stored one."""
    from bench.ingest import next_records as seeded_accounts_next

    return seeded_accounts_next(n, hours_after=after_hours, n_accounts=accounts)


def measure_ingest(sides: dict, args) -> dict[str, dict]:
    """Batches (same records on both sides, which goes first alternating) and single items, item by item."""
    from ingestion.services import ingest

    batch_s: dict[str, list[float]] = {side: [] for side in sides}
    single_ms: dict[str, list[float]] = {side: [] for side in sides}
    names = list(sides)

    def run(side: str, records: list[dict], source: str) -> float:
        wrapper, organisation = sides[side]
        use(wrapper)
        started = time.perf_counter()
        result = ingest(records, organisation=organisation, source=source, actor="bench")
        elapsed = time.perf_counter() - started
        if result.accepted != len(records):
            raise SystemExit(f"{side}: {result.accepted} of {len(records)} accepted: {result.errors[:3]}")
        return elapsed

    use(sides[names[0]][0])
    warm = next_records(200, args.accounts)
    for side in names:
        run(side, warm, "bench-warm")
    for r in range(args.repeat):
        use(sides[names[0]][0])
        records = next_records(args.items, args.accounts)
        for side in names if r % 2 == 0 else reversed(names):
            batch_s[side].append(run(side, records, "bench-batch"))
        clear_task_queue()
    use(sides[names[0]][0])
    singles = next_records(args.single_items, args.accounts)
    for i, record in enumerate(singles):
        for side in names if i % 2 == 0 else reversed(names):
            single_ms[side].append(run(side, [record], "bench-single") * 1000)
    clear_task_queue()
    return {
        side: {
            "batch_median_s": statistics.median(batch_s[side]) if batch_s[side] else float("nan"),
            "batch_best_s": min(batch_s[side], default=float("nan")),
            "batches": batch_s[side],
            "single_p50": percentile(single_ms[side], 50) if single_ms[side] else float("nan"),
            "single_p95": percentile(single_ms[side], 95) if single_ms[side] else float("nan"),
        }
        for side in names
    }


def measure_pages(sides: dict, n: int) -> list[tuple[str, dict[str, dict]]]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from bench.workspace import timed_get
    from cases.models import Case
    from organisations.context import organisation_context

    names = list(sides)
    clients: dict[str, dict[str, Client]] = {}
    reference = None
    for side in names:
        wrapper, organisation = sides[side]
        use(wrapper)
        users = get_user_model().objects
        analyst = users.get(username=f"{organisation.slug}-analyst-1-0")
        compliance = users.get(username=f"{organisation.slug}-compliance")
        clients[side] = {}
        for role, user in (("analyst", analyst), ("compliance", compliance)):
            client = Client()  # sessions are stored in each database: a client per database
            client.force_login(user)
            clients[side][role] = client
        with organisation_context(organisation):
            case = Case.objects.visible_to(analyst).open().order_by("-opened_at", "reference").first()
        if reference is None:
            reference = case.reference
        elif case.reference != reference:
            raise SystemExit(f"the databases differ: {side}'s analyst sees {case.reference}, not {reference}")
    pages = [
        ("worklist /cases/, analyst (one team)", "analyst", "/cases/"),
        ("worklist /cases/, compliance (all cases)", "compliance", "/cases/"),
        ("case page /cases/<reference>/, analyst", "analyst", f"/cases/{reference}/"),
    ]
    results = []
    for label, role, url in pages:
        times: dict[str, list[float]] = {side: [] for side in names}
        queries: dict[str, int] = {}
        for side in names:  # warm: templates compiled, the connection's caches
            use(sides[side][0])
            for _ in range(3):
                timed_get(clients[side][role], url)
        for i in range(n):
            for side in names if i % 2 == 0 else reversed(names):
                use(sides[side][0])
                elapsed, queries[side] = timed_get(clients[side][role], url)
                times[side].append(elapsed)
        results.append(
            (
                label,
                {
                    side: {
                        "p50": statistics.median(times[side]),
                        "p95": percentile(times[side], 95),
                        "queries": queries[side],
                    }
                    for side in names
                },
            )
        )
    return results


@contextlib.contextmanager
def copies(names: list[str], on_copy: bool):
    """The databases to measure on: `names`, or copies of them made for the run and dropped after it."""
    if not on_copy:
        yield names
        return
    import psycopg
    from psycopg import sql

    made = []
    try:
        with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
            for name in names:
                copy = f"{name}_run_{os.getpid()}"
                started = time.perf_counter()
                conn.execute(
                    sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                        sql.Identifier(copy), sql.Identifier(name)
                    )
                )
                made.append(copy)
                print(f"database: measuring on {copy}, a copy of {name} ({time.perf_counter() - started:.0f} s)")
        yield made
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
            for copy in made:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(copy)))


def database_sizes(sides: dict) -> str:
    """What each database holds: its transactions, the measured organisation's share and cases, its size."""
    from django.db import connection

    parts = []
    for side, (wrapper, organisation) in sides.items():
        use(wrapper)
        with connection.cursor() as cur:
            cur.execute(
                "SELECT pg_size_pretty(pg_database_size(current_database())),"
                " (SELECT count(*) FROM scoring_transaction),"
                " (SELECT count(*) FROM scoring_transaction WHERE organisation_id = %s)",
                [organisation.pk],
            )
            size, total, own = cur.fetchone()
            cur.execute(
                "SELECT count(*), count(*) FILTER (WHERE status <> 'closed') FROM cases_case"
                " WHERE organisation_id = %s",
                [organisation.pk],
            )
            cases, open_cases = cur.fetchone()
        parts.append(
            f"{side}: {total:,} transactions, {size}; the measured organisation's: {own:,} transactions, "
            f"{cases:,} cases ({open_cases:,} open)"
        )
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", action="store_true", help="seed both databases (if not seeded yet), then stop")
    parser.add_argument("--single", default="finobs_bench_org1", help="database of the single organisation")
    parser.add_argument("--ten", default="finobs_bench_org10", help="database of the ten organisations")
    parser.add_argument("--organisations", type=int, default=10, help="organisations in the --ten database")
    parser.add_argument("--accounts", type=int, default=10_000, help="accounts per organisation (seed)")
    parser.add_argument("--days", type=int, default=6, help="days of their traffic (seed)")
    parser.add_argument("--items", type=int, default=BATCH, help="items of a measured batch")
    parser.add_argument("--repeat", type=int, default=5, help="measured batches on each database")
    parser.add_argument("--single-items", type=int, default=200, help="single-item ingest() calls on each database")
    parser.add_argument("-n", type=int, default=40, help="requests per page on each database")
    parser.add_argument("--on-copy", action="store_true", help="measure on copies of both databases, dropped after")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get("REDIS_URL"):
        raise SystemExit("Set DATABASE_URL (a PostgreSQL server; the database names come from options) and REDIS_URL.")
    if args.seed and args.on_copy:
        parser.error("--seed writes the databases themselves, not copies")
    for name in (args.single, args.ten):
        ensure_database(name)
    os.environ["DATABASE_URL"] = database_url(args.single)
    import django

    django.setup()
    from django.db import connections

    if args.seed:
        for name, n_organisations in ((args.single, 1), (args.ten, args.organisations)):
            use(connection_to(name))
            seed(name, n_organisations, accounts=args.accounts, days=args.days)
            connections["default"].close()
        clear_task_queue()
        return

    from organisations.context import activate
    from organisations.models import Organisation

    with copies([args.single, args.ten], args.on_copy) as (single, ten):
        sides = {}
        for side, name in (("single", single), (f"ten ({args.organisations} organisations)", ten)):
            wrapper = connection_to(name)
            use(wrapper)
            sides[side] = (wrapper, Organisation.objects.get(pk=1))
        print(database_sizes(sides))
        # The default managers read the default organisation's rows (next_records, the case picked).
        activate(sides["single"][1])
        started = time.perf_counter()
        ingest_figures = measure_ingest(sides, args)
        ingest_s = time.perf_counter() - started
        started = time.perf_counter()
        page_figures = measure_pages(sides, args.n)
        pages_s = time.perf_counter() - started
        for wrapper, _ in sides.values():
            wrapper.close()
        use(connection_to(args.single))

    one, ten = list(sides)
    print(f"\ningest() in-process, the default organisation ({ingest_s:.0f} s):")
    a, b = ingest_figures[one], ingest_figures[ten]
    print(
        f"  {args.items:,}-item batch, median of {args.repeat}: single {a['batch_median_s']:.3f} s, "
        f"ten {b['batch_median_s']:.3f} s, ratio {b['batch_median_s'] / a['batch_median_s']:.2f}"
    )
    pairs = [t / s for s, t in zip(a["batches"], b["batches"], strict=True)]
    print(
        f"    best: single {a['batch_best_s']:.3f} s, ten {b['batch_best_s']:.3f} s; "
        f"median of the pairs' ratios (a batch on each, one after the other): {statistics.median(pairs):.2f}"
    )
    print("    batches, s: single " + " ".join(f"{s:.3f}" for s in a["batches"]) + "; ten "
          + " ".join(f"{s:.3f}" for s in b["batches"]))  # fmt: skip
    for q in ("p50", "p95"):
        print(
            f"  single item, {args.single_items} calls, {q}: single {a['single_' + q]:.1f} ms, "
            f"ten {b['single_' + q]:.1f} ms, ratio {b['single_' + q] / a['single_' + q]:.2f}"
        )
    print(f"\nworkspace in-process (Django test Client), {args.n} requests per page and database ({pages_s:.0f} s):")
    print(f"  {'page':<44} {'single p50':>10} {'p95':>7} {'queries':>7} | {'ten p50':>8} {'p95':>7} {'queries':>7} |"
          f" ratio p50   p95")  # fmt: skip
    for label, figures in page_figures:
        a, b = figures[one], figures[ten]
        print(
            f"  {label:<44} {a['p50']:>10.1f} {a['p95']:>7.1f} {a['queries']:>7} | {b['p50']:>8.1f} {b['p95']:>7.1f} "
            f"{b['queries']:>7} | {b['p50'] / a['p50']:>9.2f} {b['p95'] / a['p95']:>5.2f}"
        )


if __name__ == "__main__":
    main()
