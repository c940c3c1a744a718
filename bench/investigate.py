"""On-demand investigations at volume, with the offline provider, on the workspace bench database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/finobs_bench_agent python bench/investigate.py

The database is built as bench/workspace.py builds it (100,000 cases and 1,000,000 transactions with
decisions by default; `--cases` for fewer), once. For an analyst of one team it times, request for request
alternately so both see the same load: an on-demand investigation from asking to `done` (every tool, the
LangGraph run, validation, the proposals, the timeline and audit entries) on a different open case each
time; the investigation's detail fetch (`GET /api/v1/investigations/{id}`); and the case page itself, the
baseline each is given against. Targets: investigation p95 <= 1 s, detail fetch p95 <= 100 ms.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finobs.settings")
os.environ.setdefault("USER_INVESTIGATIONS_RATE", "1000000/min")

from bench.workspace import N_CASES, ensure_database, seed, timed_get  # noqa: E402


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=40, help="investigations (each on another case), and page loads")
    parser.add_argument("--cases", type=int, default=N_CASES, help="cases to seed in an empty database")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        raise SystemExit("Set DATABASE_URL to a PostgreSQL database (e.g. .../finobs_bench_agent).")
    ensure_database(url)
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from bench.ingest import bench_organisation
    from cases.models import Case, Investigation
    from cases.services.investigations import investigation_request, investigation_run
    from organisations.context import organisation_context

    call_command("migrate", verbosity=0)
    organisation = bench_organisation()
    with organisation_context(organisation):
        seed(organisation, args.cases)
        analyst = get_user_model().objects.get(username="analyst-1-0")
        open_cases = list(
            Case.objects.visible_to(analyst)
            .open()
            .exclude(status=Case.Status.PENDING_APPROVAL)
            .exclude(investigations__isnull=False)
            .order_by("-opened_at")[: args.n + 3]
        )
        if len(open_cases) < args.n + 3:
            raise SystemExit("Not enough open cases left to investigate: rebuild the database or lower -n.")
        client = Client()
        client.force_login(analyst)
        page = f"/cases/{open_cases[0].reference}/"
        for case in open_cases[:3]:  # warm: templates, the graph's imports, connection
            investigation = investigation_request(case=case, actor=analyst)
            investigation_run(investigation_id=investigation.pk)
            timed_get(client, page)
        runs, fetches, pages, statuses = [], [], [], {}
        for case in open_cases[3:]:
            started = time.perf_counter()
            investigation = investigation_request(case=case, actor=analyst)
            investigation_run(investigation_id=investigation.pk)  # a no-op when the task ran in-process
            runs.append((time.perf_counter() - started) * 1000)
            investigation.refresh_from_db()
            statuses[investigation.status] = statuses.get(investigation.status, 0) + 1
            fetches.append(timed_get(client, f"/api/v1/investigations/{investigation.pk}")[0])
            pages.append(timed_get(client, f"/cases/{case.reference}/")[0])
        total = Case.objects.count()
        transactions = Investigation.objects.count()
    page95 = pct(pages, 0.95)
    print(f"\n{total:,} cases; {args.n} investigations with the offline provider, outcomes {statuses}")
    print(f"{'measured':<40} {'p50 ms':>8} {'p95 ms':>8} | {'x case page p95':>16} | target p95")
    for label, values, target in [
        ("on-demand investigation, ask to done", runs, "1000 ms"),
        ("investigation detail fetch (API)", fetches, "100 ms"),
        ("case page (baseline)", pages, ""),
    ]:
        p95 = pct(values, 0.95)
        print(f"{label:<40} {statistics.median(values):>8.1f} {p95:>8.1f} | {p95 / page95:>15.2f}x | {target}")
    print(f"({transactions} investigations stored in the bench database)")


if __name__ == "__main__":
    main()
