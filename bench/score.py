"""Scoring throughput and latency: the engine's batch path and single-transaction path vs a naive baseline.

    python bench/score.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/finobs_bench_wt3 python bench/score.py --with-history

Trains the default ensemble in memory (2,000 accounts x 30 days, 100 trees), then on a fresh generated
10,000-transaction batch measures, in the same run:
  * batch: features (stateless + behavioural) + one onnxruntime call + rules, rows per second;
  * single transaction: the same path for a batch of one, p50 / p95 over 2,000 calls;
  * the naive baseline: per row, features for that row alone and scikit-learn's IsolationForest
    `predict` (what a straightforward implementation does), on 1,000 rows, as rows per second and
    p50 / p95 per row;
and prints each figure with its ratio to the baseline. These figures take the history from the batch
itself; `--with-history` also times `batch_score` with history from the database (DATABASE_URL) and the
account-profile update the ingest transaction does; `--threads` compares onnxruntime session options.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finobs.settings")


def percentile(values, q):
    import numpy as np

    return float(np.percentile(np.asarray(values) * 1000, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", action="store_true", help="Also time session.run with 1 and 2 intra-op threads.")
    parser.add_argument(
        "--with-history",
        action="store_true",
        help="Also time batch_score with history from the database (DATABASE_URL): stores 32 days of traffic "
        "for --history-accounts accounts once, then scores the next 10,000 transactions of the same accounts.",
    )
    parser.add_argument(
        "--history-accounts",
        type=int,
        default=5000,
        help="Accounts of the stored history (5,000: ~250,000 stored transactions; 20,000: ~1,000,000).",
    )
    args = parser.parse_args()
    import django

    django.setup()
    import numpy as np
    import onnxruntime as ort

    from scoring.evaluation import default_rule_objects
    from scoring.features import build_feature_frame, build_features
    from scoring.generator import generate, records_to_transactions
    from scoring.rule_engine import evaluate_rules
    from scoring.services.registry import registry_fields, unsaved_scorer
    from scoring.training import train_ensemble

    training = records_to_transactions(generate(n_accounts=2000, days=30, seed=7).records, source="bench")
    trained = train_ensemble(build_features(training), seed=7, n_estimators=100)
    scorer = unsaved_scorer(registry_fields(trained, training, training_data={}, actor=None))
    rules = default_rule_objects()
    batch = records_to_transactions(generate(n_accounts=5000, days=2, seed=99).records, source="bench")[:10_000]
    assert len(batch) == 10_000, len(batch)

    def engine(transactions):
        frame = build_feature_frame(transactions)
        scores = scorer.score(frame.matrix)
        return evaluate_rules(rules, frame, scorer.risk_levels(scores), scorer.flagged(scores))

    engine(batch[:100])  # warm up
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        engine(batch)
        runs.append(time.perf_counter() - started)
    batch_s = float(np.median(runs))

    single = []
    for txn in batch[:2000]:
        started = time.perf_counter()
        engine([txn])
        single.append(time.perf_counter() - started)

    estimator = trained.estimator
    naive = []
    for txn in batch[:1000]:
        started = time.perf_counter()
        estimator.predict(build_features([txn]))
        naive.append(time.perf_counter() - started)
    naive_rate = len(naive) / sum(naive)

    rate = len(batch) / batch_s
    print(f"batch of 10,000: {batch_s * 1000:.0f} ms = {rate:,.0f} rows/s (features + ensemble + rules), "
          f"naive per-row scikit-learn: {naive_rate:,.0f} rows/s -> {rate / naive_rate:,.0f}x")  # fmt: skip
    print(f"single transaction: p50 {percentile(single, 50):.2f} ms, p95 {percentile(single, 95):.2f} ms; "
          f"naive p50 {percentile(naive, 50):.2f} ms, p95 {percentile(naive, 95):.2f} ms -> "
          f"{percentile(naive, 95) / percentile(single, 95):.1f}x at p95")  # fmt: skip

    frame = build_feature_frame(batch)
    for label, fn in (
        ("features (10k)", lambda: build_feature_frame(batch)),
        ("ensemble session.run (10k)", lambda: scorer.score(frame.matrix)),
        ("scikit-learn IsolationForest score_samples (10k)", lambda: estimator.score_samples(frame.matrix)),
        ("ensemble session.run (1 row)", lambda: scorer.score(frame.matrix[:1])),
        ("scikit-learn score_samples (1 row)", lambda: estimator.score_samples(frame.matrix[:1])),
    ):
        times = []
        for _ in range(7):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        print(f"  {label}: {np.median(times) * 1000:.2f} ms")
    if args.with_history:
        history_figures(args.history_accounts, naive_rate)
    if args.threads:
        for threads in (1, 2):
            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = ort.InferenceSession(trained.onnx_bytes, sess_options=options, providers=["CPUExecutionProvider"])
            for n in (1, 1000, 10_000):
                x = np.ascontiguousarray(frame.matrix[:n])
                times = []
                for _ in range(9):
                    started = time.perf_counter()
                    session.run(None, {"features": x})
                    times.append(time.perf_counter() - started)
                print(f"  {threads} thread(s), {n} rows: {np.median(times) * 1000:.3f} ms")


def history_figures(n_accounts: int, naive_rate: float) -> None:
    """batch_score as ingestion calls it: 5 history queries (accounts and counterparties), features, ensemble,
    rules; its rate against the same run's naive per-row baseline."""
    import numpy as np
    from django.core.management import call_command
    from django.db import transaction

    from organisations.models import Organisation
    from scoring.generator import generate, records_to_transactions
    from scoring.history import load_history
    from scoring.inference import NoChampionModel, champion_scorer
    from scoring.models import AccountProfile, Transaction
    from scoring.profiles import profiles_rebuild, profiles_record
    from scoring.services import batch_score, model_train

    call_command("migrate", verbosity=0)
    from bench.ingest import bench_organisation

    bench_organisation()  # the default organisation unless BENCH_ORGANISATION names one
    try:
        champion_scorer()
    except NoChampionModel:
        model_train(actor="bench")
    source = f"bench-history-{n_accounts}"
    generated = records_to_transactions(generate(n_accounts=n_accounts, days=32, seed=4242).records, source=source)
    cut = len(generated) - 10_000
    if not Transaction.objects.filter(source=source).exists():
        for start in range(0, cut, 20_000):
            with transaction.atomic():  # as ingestion stores: the profile upserts stage rows until commit
                stored = Transaction.objects.bulk_create(generated[start : min(start + 20_000, cut)])
                profiles_record(stored)
    elif not AccountProfile.objects.exists():
        profiles_rebuild(organisation=Organisation.objects.get(pk=generated[0].organisation_id))
    batch = generated[cut:]
    batch_score(transactions=batch[:10])
    load, total = [], []
    for _ in range(5):
        started = time.perf_counter()
        history = load_history(batch)
        load.append(time.perf_counter() - started)
        started = time.perf_counter()
        batch_score(transactions=batch)
        total.append(time.perf_counter() - started)
    stored = Transaction.objects.count()
    rate = 10_000 / np.median(total)
    print(f"batch_score of 10,000 with history from the database ({stored:,} stored rows, "
          f"{len(history.recent):,} recent rows, {len(history.profiles):,} profiles, "
          f"{len(history.counterparty_recent):,} counterparty payments, "
          f"{len(history.counterparty_senders):,} counterparty senders): "
          f"{np.median(total) * 1000:.0f} ms = {rate:,.0f} rows/s, of which history queries "
          f"{np.median(load) * 1000:.0f} ms; naive per-row scikit-learn {naive_rate:,.0f} rows/s -> "
          f"{rate / naive_rate:,.0f}x")  # fmt: skip
    record = []
    for _ in range(3):
        with transaction.atomic():
            started = time.perf_counter()
            profiles_record(batch)
            record.append(time.perf_counter() - started)
            transaction.set_rollback(True)
    print(f"account profile update for the 10,000 (in the ingest transaction): {np.median(record) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
