"""Explaining flagged decisions (the worker's task after each relay pass) vs reading each with its model version.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/finobs_bench_d python bench/explain.py

On the database's unexplained flagged decisions (the bench database of `bench/ingest.py --seed` holds
tens of thousands; with fewer than 500 it ingests a fresh batch first), times in the same run, each
call in a transaction rolled back so every repeat explains the same rows anew:
  * `decisions_explain` on 1, 20 and 500 decisions (median of 5): the features only, each model version
    once, its SHAP trees only to build the process' explainer;
  * the naive baseline: the decisions read with their model version (`select_related`, as before stop
    16), which brings the version's ONNX graph, SHAP trees and references along with every decision;
and prints wall and CPU time for both, and their ratio.
"""

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finobs.settings")

SIZES = (1, 20, 500)
REPEATS = 5


def naive_explain(transaction_ids: list[int]) -> int:
    """decisions_explain as it read before: every decision with its whole model version."""
    import numpy as np
    from django.db.models import Q

    from scoring.explainer import explain_rows
    from scoring.models import Decision

    pending = list(
        Decision.objects.filter(transaction_id__in=transaction_ids)
        .filter(Q(explanation__isnull=True) | Q(explanation=None))
        .select_related("model_version")
    )
    by_version: dict[int, list] = {}
    for decision in pending:
        by_version.setdefault(decision.model_version_id, []).append(decision)
    for decisions in by_version.values():
        explanations = explain_rows(decisions[0].model_version, np.asarray([d.features for d in decisions]))
        for decision, explanation in zip(decisions, explanations, strict=True):
            decision.explanation = explanation
        Decision.objects.bulk_update(decisions, ["explanation"])
    return len(pending)


def timed(explain, transaction_ids: list[int]) -> tuple[float, float]:
    """Wall and CPU seconds of explain(transaction_ids), rolled back."""
    from django.db import transaction

    with transaction.atomic():
        wall, cpu = time.perf_counter(), time.process_time()
        explained = explain(transaction_ids)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        transaction.set_rollback(True)
    if explained != len(transaction_ids):
        raise SystemExit(f"explained {explained} of {len(transaction_ids)} decisions")
    return wall, cpu


def main() -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from ingest import bench_organisation

    from scoring.models import Decision, ModelVersion
    from scoring.services import model_train

    call_command("migrate", verbosity=0)
    organisation = bench_organisation()  # the default organisation unless BENCH_ORGANISATION names one
    if not ModelVersion.objects.filter(status="champion").exists():
        model_train(actor="bench")
    unexplained = Decision.objects.filter(flagged=True, explanation__isnull=True).order_by("-pk")
    if unexplained.count() < max(SIZES) * 2:
        from ingest import next_records

        from ingestion.services import ingest

        while unexplained.count() < max(SIZES) * 2:
            ingest(next_records(10_000), organisation=organisation, source="bench-explain", actor="bench")
    ids = list(unexplained.values_list("pk", flat=True)[: max(SIZES) * 2])
    timed(decisions_explain_ids, ids[:1])  # the explainer built, as in a worker that has explained before
    for size in SIZES:
        rows = {}
        for name, explain in (("decisions_explain", decisions_explain_ids), ("naive", naive_explain)):
            # Small sizes take other decisions each repeat; 500 the same ones (rolled back each time).
            chunks = [ids[r * size : (r + 1) * size] if size < 100 else ids[:size] for r in range(REPEATS)]
            runs = [timed(explain, chunk) for chunk in chunks]
            rows[name] = (statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
        (wall, cpu), (naive_wall, naive_cpu) = rows["decisions_explain"], rows["naive"]
        print(
            f"{size:>4} decisions: decisions_explain {wall * 1000:8.1f} ms (CPU {cpu * 1000:7.1f}); "
            f"naive {naive_wall * 1000:8.1f} ms (CPU {naive_cpu * 1000:7.1f}); ratio {naive_wall / wall:4.1f}x"
        )


def decisions_explain_ids(transaction_ids: list[int]) -> int:
    from scoring.services.explanations import decisions_explain

    return decisions_explain(transaction_ids=transaction_ids)


if __name__ == "__main__":
    main()
