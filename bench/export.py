"""Evidence bundle export: a 1,000-transaction case, and 100,000 audit events streamed, against plain JSON.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/finobs_bench_export python bench/export.py

Creates the database if needed, migrates it and seeds once, in an organisation of its own (`bench-export`):
a case with 1,000 transactions, each with a flagged decision, its rule hit and five SHAP contributions, a
timeline and comments; and that organisation's audit chain of 100,000 events (written through
`audit_log_many`, hashed and chained as in production). Then, each in a fresh child process so memory is
its own:
  * the case bundle through the export job's path (`export_run`: every member streamed and hashed, the
    manifest signed with Ed25519), median of 5;
  * the audit trail of all 100,000 events as one bundle, the same way (streamed from a server-side cursor),
    with the child's resident memory before and its peak (VmHWM) after: the rise is what the export cost;
and, in the same run, the baseline: the same rows read and written as one plain JSON document (no ZIP, no
hashing, no signature), the way a naive export holds everything in memory before writing it.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finobs.settings")

ORGANISATION = "bench-export"
CASE_TRANSACTIONS = 1_000
AUDIT_EVENTS = 100_000
REPEATS = 5


def memory_kb(field: str) -> int:
    """VmRSS (now) or VmHWM (peak) of this process, in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def setup() -> object:
    import django

    django.setup()
    from organisations.context import activate
    from organisations.models import Organisation

    organisation, _ = Organisation.objects.get_or_create(slug=ORGANISATION, defaults={"name": "Bench export"})
    activate(organisation)
    return organisation


def seed() -> None:
    """The case and the audit chain, once."""
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from audit.models import AuditEvent
    from audit.services import AuditEntry, audit_log_many
    from cases.models import Case, CaseEvent, CaseTransaction
    from scoring.models import Decision, ModelVersion, Transaction

    if not Case.objects.filter(reference="BENCH-EXPORT-1").exists():
        now = timezone.now()
        version = ModelVersion.objects.create(
            version=1,
            status=ModelVersion.Status.CHAMPION,
            algorithm="isolation_forest",
            artifact=b"",
            artifact_sha256="0" * 64,
            feature_names=["amount", "hour", "velocity"],
            score_reference={},
            thresholds={"MEDIUM": 0.5, "HIGH": 0.8, "CRITICAL": 0.95},
        )
        transactions = Transaction.objects.bulk_create(
            Transaction(
                source="bench",
                external_id=f"bench-export-{i}",
                account_id="acc-bench-export",
                amount=Decimal("1234.5600") + i,
                currency="EUR",
                occurred_at=now - timedelta(minutes=i),
                merchant_id=f"m-{i % 37}",
                merchant_category="6051",
                country="DE",
                channel="online",
                received_at=now,
                metadata={"iban": "DE89370400440532013000"},
            )
            for i in range(CASE_TRANSACTIONS)
        )
        contributions = [
            {
                "feature": f"f{k}",
                "label": f"Feature {k}",
                "value": 1.5 * k,
                "contribution": 0.1 * k,
                "text": "pushes up",
            }
            for k in range(5)
        ]
        Decision.objects.bulk_create(
            Decision(
                transaction=t,
                model_version=version,
                score=0.97,
                risk_level="CRITICAL",
                flagged=True,
                rule_hits=[{"rule": "VELOCITY", "name": "Rapid movement", "action": "flag", "reason": "5 in 1h"}],
                explanation={"method": "SHAP", "base_value": 0.5, "contributions": contributions},
                latency_ms=0.1,
                created_at=now,
            )
            for t in transactions
        )
        case = Case.objects.create(
            reference="BENCH-EXPORT-1",
            title="Bench export",
            account_id="acc-bench-export",
            severity="critical",
            peak_severity="critical",
            sla_due_at=now,
            opened_at=now,
        )
        CaseTransaction.objects.bulk_create(
            CaseTransaction(case=case, transaction=t, added_at=now) for t in transactions
        )
        CaseEvent.objects.bulk_create(
            CaseEvent(case=case, kind="updated", actor="bench", data={"n": i}, created_at=now) for i in range(50)
        )
        audit_log_many(
            [AuditEntry(actor="bench", action="case.updated", object_type="case", object_id=case.reference)] * 50
        )
    missing = AUDIT_EVENTS - AuditEvent.objects.count()
    while missing > 0:
        batch = min(missing, 5000)
        audit_log_many(
            [
                AuditEntry(actor="user:bench", action="bench.event", object_type="bench", object_id=i, payload={"i": i})
                for i in range(batch)
            ]
        )
        missing -= batch


def export_once(kind: str) -> dict:
    """One export through the job's path, in this (fresh) process; its time and memory."""
    organisation = setup()
    from cases.models import Case
    from evidence.models import ExportRecord
    from evidence.services import export_run

    parameters = (
        {"case_id": Case.objects.get(reference="BENCH-EXPORT-1").pk}
        if kind == "case"
        else {"from": "2000-01-01T00:00:00+00:00", "to": "2100-01-01T00:00:00+00:00"}
    )
    record = ExportRecord.objects.create(kind=kind, subject="bench", parameters=parameters, actor="bench")
    rss_before = memory_kb("VmRSS")
    started = time.perf_counter()
    record = export_run(record_id=record.pk)
    seconds = time.perf_counter() - started
    if record.status != "done":
        raise SystemExit(f"export failed: {record.failure}")
    from django.conf import settings

    path = Path(settings.EXPORT_PATH) / record.file_name
    result = {
        "seconds": seconds,
        "rss_before_kb": rss_before,
        "peak_kb": memory_kb("VmHWM"),
        "bytes": record.size_bytes,
        "organisation": organisation.slug,
    }
    path.unlink()
    return result


def baseline_once(kind: str) -> dict:
    """The same rows as one plain JSON document: read all, serialise, write; no ZIP, hash or signature."""
    setup()
    from audit.models import AuditEvent
    from cases.models import Case, CaseEvent, CaseTransaction
    from evidence.services.rows import AUDIT_EVENT_FIELDS

    target = ROOT / "var" / f"bench-export-baseline-{kind}.json"
    rss_before = memory_kb("VmRSS")
    started = time.perf_counter()
    if kind == "case":
        case = Case.objects.get(reference="BENCH-EXPORT-1")
        links = CaseTransaction.objects.filter(case=case).select_related("transaction", "transaction__decision")
        document = {
            "case": {"reference": case.reference, "account_id": case.account_id, "status": case.status},
            "transactions": [
                {
                    "external_id": link.transaction.external_id,
                    "amount": str(link.transaction.amount),
                    "occurred_at": link.transaction.occurred_at.isoformat(),
                    "decision": {
                        "score": link.transaction.decision.score,
                        "rule_hits": link.transaction.decision.rule_hits,
                        "explanation": link.transaction.decision.explanation,
                    },
                }
                for link in links
            ],
            "timeline": list(CaseEvent.objects.filter(case=case).values("kind", "actor", "data")),
            "audit_events": list(
                AuditEvent.objects.filter(object_type="case", object_id=case.reference).values(*AUDIT_EVENT_FIELDS)
            ),
        }
    else:
        document = {"audit_events": list(AuditEvent.objects.order_by("id").values(*AUDIT_EVENT_FIELDS))}
    with target.open("w") as out:
        json.dump(document, out, default=str)
    seconds = time.perf_counter() - started
    result = {
        "seconds": seconds,
        "rss_before_kb": rss_before,
        "peak_kb": memory_kb("VmHWM"),
        "bytes": target.stat().st_size,
    }
    target.unlink()
    return result


def child(mode: str, kind: str) -> dict:
    """Run one measurement in a fresh Python process, so its memory figures are its own."""
    output = subprocess.run(
        [sys.executable, __file__, "--child", mode, kind], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", nargs=2, metavar=("MODE", "KIND"), help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=REPEATS)
    args = parser.parse_args()
    if args.child:
        mode, kind = args.child
        print(json.dumps((export_once if mode == "export" else baseline_once)(kind)))
        return

    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        from workspace import ensure_database

        ensure_database(url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    setup()
    started = time.perf_counter()
    seed()
    print(f"seeded in {time.perf_counter() - started:.1f} s (once per database)")

    cases, case_baselines = [], []
    for _ in range(args.repeat):  # alternately, so both see the same machine
        cases.append(child("export", "case"))
        case_baselines.append(child("baseline", "case"))
    case_s = statistics.median(r["seconds"] for r in cases)
    base_s = statistics.median(r["seconds"] for r in case_baselines)
    print(
        f"case bundle, {CASE_TRANSACTIONS:,} transactions, median of {args.repeat}: {case_s:.3f} s, "
        f"{cases[0]['bytes'] / 1e6:.1f} MB | plain JSON: {base_s:.3f} s, {case_baselines[0]['bytes'] / 1e6:.1f} MB "
        f"| ratio {case_s / base_s:.2f}x"
    )

    audit = child("export", "audit")
    audit_base = child("baseline", "audit")
    rise = (audit["peak_kb"] - audit["rss_before_kb"]) / 1024
    base_rise = (audit_base["peak_kb"] - audit_base["rss_before_kb"]) / 1024
    print(
        f"audit trail, {AUDIT_EVENTS:,} events: {audit['seconds']:.2f} s, {audit['bytes'] / 1e6:.1f} MB, "
        f"RSS {audit['rss_before_kb'] / 1024:.0f} MB before, peak {audit['peak_kb'] / 1024:.0f} MB, rise {rise:.0f} MB "
        f"| plain JSON: {audit_base['seconds']:.2f} s, rise {base_rise:.0f} MB "
        f"| ratio time {audit['seconds'] / audit_base['seconds']:.2f}x, memory rise {rise / max(base_rise, 1):.2f}x"
    )


if __name__ == "__main__":
    main()
