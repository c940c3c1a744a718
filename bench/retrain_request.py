"""How long the person who asks for a retraining waits, in the embedded default: the request alone (the
training on the web process's background thread) against the request holding the training inside it.

    python bench/retrain_request.py            # SQLite at var/bench-retrain.sqlite3, no broker

Migrates and seeds once: the shipped default model as champion, and a fortnight of generated traffic of
ACCOUNTS accounts, scored and stored. Then, alternately, REPEATS times each: POST /models/retrain as a
compliance officer (Django's test client, the whole middleware stack) with the job sent to the background
thread, timing the response and then the run until done; and the same request with BACKGROUND_TASKS_INLINE,
where the response comes back only once the candidate is registered. Prints the medians and their ratio.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE = ROOT / "var" / "bench-retrain.sqlite3"
os.environ.setdefault("SQLITE_PATH", str(DATABASE))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finobs.settings")
for variable in ("DATABASE_URL", "REDIS_URL"):  # the embedded default
    os.environ.pop(variable, None)

ACCOUNTS = 600
DAYS = 14


def setup():
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    from organisations.context import activate
    from organisations.models import Organisation

    organisation = Organisation.objects.order_by("pk").first()
    activate(organisation)
    return organisation


def seed(organisation) -> int:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from organisations.models import Membership
    from scoring.models import ModelVersion, Transaction
    from scoring.services import model_install_default
    from scoring.tests.test_monitoring import recent_traffic, store_scored

    if not ModelVersion.objects.filter(status=ModelVersion.Status.CHAMPION).exists():
        model_install_default(actor="bench")
    if not Transaction.objects.exists():
        transactions, _ = recent_traffic(seed=2026, n_accounts=ACCOUNTS, days=DAYS)
        store_scored(transactions)
    officer, created = get_user_model().objects.get_or_create(username="bench-compliance")
    if created:
        officer.groups.add(Group.objects.get(name="compliance"))
        Membership.objects.get_or_create(user=officer, defaults={"organisation": organisation})
    return Transaction.objects.count()


def ask(client, *, inline: bool) -> tuple[float, float]:
    """(response time, time until the run is done), seconds."""
    from django.test.utils import override_settings

    from kernel.background import wait_idle
    from scoring.models import RetrainRun

    with override_settings(BACKGROUND_TASKS_INLINE=inline, USER_EXPENSIVE_RATES={"retrain": "1000/hour"}):
        started = time.perf_counter()
        response = client.post("/models/retrain")
        answered = time.perf_counter() - started
        assert response.status_code == 302, response.status_code
        assert wait_idle(timeout_s=600)
        done = time.perf_counter() - started
    run = RetrainRun.objects.order_by("-pk").first()
    assert run.status == RetrainRun.Status.DONE, (run.status, run.failure)
    return answered, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    DATABASE.parent.mkdir(exist_ok=True)
    rows = seed(setup())
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    settings.RETRAIN_MIN_ROWS = min(settings.RETRAIN_MIN_ROWS, rows)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.MFA_REQUIRED_FOR = "none"
    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-compliance"))
    background, inline, finished = [], [], []
    for _ in range(args.repeat):
        answered, done = ask(client, inline=False)
        background.append(answered)
        finished.append(done)
        inline.append(ask(client, inline=True)[0])
    b, i, f = (statistics.median(x) for x in (background, inline, finished))
    print(f"retraining on {rows:,} stored transactions, median of {args.repeat}:")
    print(f"  POST /models/retrain, training in the background: {b * 1000:.0f} ms (run done after {f:.1f} s)")
    print(f"  POST /models/retrain, training inside the request: {i:.1f} s")
    print(f"  the request waits {i / b:.0f}x less")


if __name__ == "__main__":
    main()
