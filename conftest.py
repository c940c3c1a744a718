"""Test-session wiring: service markers, and persona/user builders shared by every app's tests."""

import contextvars
import os
import time
from pathlib import Path

import pytest
from django.conf import settings

IN_CI = os.environ.get("CI", "").lower() == "true"


def _on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def _redis_reachable() -> bool:
    if not settings.REDIS_URL:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Let transactional tests' teardown flush (a TRUNCATE on PostgreSQL) empty the audit table.

    Only the test database is touched; UPDATE and DELETE stay refused, and audit's
    test_pg_trigger.py re-enables the TRUNCATE trigger inside its own transaction to check it.
    """
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_append_only_truncate")
    yield
    # Threads that served async code (Channels' sync_to_async executor, the in-test Celery worker) keep
    # their own connections open; close them so the test database can be dropped at the end.
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture(autouse=True)
def _second_factor(request, settings):
    """Tests run with MFA off unless marked `mfa`: those test the second factor (accounts/tests), the others
    what they are about, signing people in without an authenticator app."""
    if request.node.get_closest_marker("mfa") is None:
        settings.MFA_REQUIRED_FOR = "none"


def default_organisation():
    """The organisation the migrations make (a transactional test's flush empties it; it comes back)."""
    from organisations.context import system_context
    from organisations.models import Organisation

    with system_context():
        organisation, _ = Organisation.objects.get_or_create(slug="default", defaults={"name": "Default organisation"})
    return organisation


def ingest_in_default_organisation(records, *, source: str = "acme", actor="tests"):
    """ingest() in the default organisation, for tests that call it through database_sync_to_async
    (their coroutine cannot look the organisation up itself)."""
    from ingestion.services import ingest

    return ingest(records, organisation=default_organisation(), source=source, actor=actor)


def api_key_in_default_organisation(**fields):
    """api_key_create() in the default organisation (as ingest_in_default_organisation)."""
    from apikeys.services import api_key_create

    return api_key_create(organisation=default_organisation(), **fields)


@pytest.fixture(autouse=True)
def _in_the_default_organisation(request):
    """A test that uses the database runs in the default organisation, as code serving a request does; tests
    of isolation name other organisations themselves."""
    if not {"db", "transactional_db", "django_db_reset_sequences", "live_server"} & set(request.fixturenames) and (
        request.node.get_closest_marker("django_db") is None
    ):
        yield
        return
    from organisations.context import organisation_context

    request.getfixturevalue("_django_db_helper")  # the database the test asked for, set up first
    with organisation_context(default_organisation()):
        yield
    _background_jobs_finish()


def _background_jobs_finish():
    """Long jobs a test sent to the background thread (kernel.background) finish before its database is
    emptied, so none runs on into the next test."""
    from kernel.background import wait_idle

    assert wait_idle(timeout_s=120), "a background job was still running two minutes after its test"


@pytest.fixture
def admin_user(admin_user):
    """pytest-django's superuser, a member of the default organisation: its admin pages show that
    organisation's rows (a superuser outside every organisation is platform staff and sees none)."""
    from organisations.models import Membership

    Membership.objects.get_or_create(user=admin_user, defaults={"organisation": default_organisation()})
    return admin_user


@pytest.fixture
def organisation(db):
    """A second organisation, "Harbour bank", beside the default one."""
    from organisations.models import Organisation

    return Organisation.objects.create(slug="harbour", name="Harbour bank")


@pytest.fixture(autouse=True)
def _no_relay_marked_queued():
    """Each test starts with no relay marked queued (a relay queued by an earlier test never ran)."""
    from delivery.services.outbox import outbox_relay_mark_clear

    outbox_relay_mark_clear()


@pytest.fixture(autouse=True)
def _no_event_data_kept():
    """Each test starts with no decision event data kept: a test rolled back on SQLite hands its ids out again."""
    from delivery.selectors import forget_event_data

    forget_event_data()


def pytest_collection_modifyitems(config, items):
    """The SQLite run deselects what needs PostgreSQL/Redis; the service run must run all of it.

    A server in a child process (browser and server tests) cannot share an in-memory SQLite database:
    when such tests are selected on SQLite, the test database becomes a file (Channels' live-server docs).
    """
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql" and any(
        item.get_closest_marker("browser") or item.get_closest_marker("server") for item in items
    ):
        # Mutated in place: django.db.connections holds this same dict.
        database.setdefault("TEST", {})["NAME"] = str(Path(settings.VAR_DIR) / "test-server.sqlite3")
    need_pg = [i for i in items if i.get_closest_marker("postgres")]
    need_redis = [i for i in items if i.get_closest_marker("redis")]
    deselected = []
    if not _on_postgres():
        deselected += need_pg
    if not settings.REDIS_URL:
        deselected += need_redis
    if deselected:
        ids = {id(i) for i in deselected}
        config.hook.pytest_deselected(items=deselected)
        items[:] = [i for i in items if id(i) not in ids]
    if settings.REDIS_URL and need_redis and not _redis_reachable():
        raise pytest.UsageError(f"REDIS_URL={settings.REDIS_URL} is set but Redis does not answer.")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a skipped PostgreSQL/Redis/browser test is a failure, not a silent pass."""
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and any(item.get_closest_marker(m) for m in ("postgres", "redis", "browser", "server")):
        report.outcome = "failed"
        report.longrepr = f"{item.nodeid}: a service test was skipped in CI ({report.longrepr})"


# --- Personas and builders shared by every app's tests ------------------------------------------

_trained_champion: dict = {}


@pytest.fixture
def champion(db):
    """A real champion model (IsolationForest in ONNX). Trained once per test session, re-inserted per test."""
    from scoring.models import ModelVersion
    from scoring.services import model_train

    if not _trained_champion:
        version = model_train(n_accounts=300, days=14, seed=11, n_estimators=60, actor="tests")
        _trained_champion.update(
            {
                f.attname: getattr(version, f.attname)
                for f in ModelVersion._meta.concrete_fields
                if f.attname not in {"id", "organisation_id"}  # the test's organisation, by default
            }
        )
        return version
    return ModelVersion.objects.create(**_trained_champion)


def ensure_roles() -> None:
    """The role groups, as the roles migration made them: a transactional test's flush empties that table."""
    from django.apps import apps
    from django.contrib.auth.models import Group

    from finobs.roles import ROLES, sync_roles

    if Group.objects.filter(name__in=ROLES).count() < len(ROLES):
        sync_roles(apps)


@pytest.fixture
def roles():
    """For a test (marked django_db) that makes users without make_user, e.g. through a command."""
    ensure_roles()


@pytest.fixture
def make_user(db):
    """make_user("analyst") -> a user in that role's group (roles come from the data migration)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    ensure_roles()

    def make(role: str | None = None, username: str | None = None, organisation=None):
        """A person in `role`, a member of `organisation` (the default one unless named; platform staff
        belong to none)."""
        from organisations.models import Membership

        user = get_user_model().objects.create_user(username=username or f"{role or 'nobody'}-user", password=None)
        if role:
            user.groups.add(Group.objects.get(name=role))
        if role != "platform":
            Membership.objects.create(user=user, organisation=organisation or default_organisation())
        return user

    return make


@pytest.fixture
def cache_unreachable(settings):
    """The cache (rate limits) on a Redis server nobody answers at: every cache call fails, as in an outage."""
    settings.CACHES = {"default": {"BACKEND": "kernel.cache.SharedRedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}


@pytest.fixture
def api_key(db):
    """(ApiKey, raw key) with every scope, ingesting as source "acme"."""
    from apikeys.services import api_key_create

    return api_key_create(
        organisation=default_organisation(), name="Acme bank", source="acme", scopes=["ingest", "read", "stream"]
    )


def transaction_record(n: int = 1, **overrides) -> dict:
    """An everyday card payment in the public JSON shape."""
    record = {
        "external_id": f"tx-{n}",
        "account_id": f"acc-{n % 50}",
        "amount": "42.50",
        "currency": "EUR",
        "timestamp": "2026-11-20T14:03:00Z",
        "merchant_id": f"m-{n % 20}",
        "merchant_category": "5411",
        "country": "DE",
        "channel": "card_present",
    }
    record.update(overrides)
    return record


def suspicious_record(n: int = 1, **overrides) -> dict:
    """Far outside normal behaviour: a huge 3 a.m. online quasi-cash payment abroad."""
    return transaction_record(
        n,
        **{
            "amount": "98500.00",
            "currency": "USD",
            "timestamp": "2026-11-20T03:12:00Z",
            "merchant_category": "6051",
            "country": "KP",
            "channel": "online",
            **overrides,
        },
    )


@pytest.fixture
def celery_worker_if_queued(transactional_db):
    """With Redis configured tasks go through the broker: run a real Celery worker in a thread."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        yield None
        return
    from celery.contrib.testing.worker import start_worker

    from finobs.celery import app

    app.control.purge()  # tasks an earlier test left queued name rows its flush removed: not this test's work
    with start_worker(app, perform_ping_check=False, pool="solo", concurrency=1, shutdown_timeout=10) as worker:
        yield worker


# --- Concurrency and live servers shared by tests -------------------------------------------------


def wait_until(predicate, timeout_s: float = 30) -> bool:
    """Poll `predicate()` every 20 ms until it holds (True) or `timeout_s` has passed (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def thread_in_this_context(target, *args, **kwargs):
    """A thread running `target(*args)` in a copy of the caller's context (its organisation), as the threads
    serving a request do."""
    import threading

    return threading.Thread(target=contextvars.copy_context().run, args=(target, *args), **kwargs)


def run_in_threads(target, count: int, *, timeout_s: float = 60) -> list:
    """Start `count` threads together (a barrier), call `target(index)` in each; returns what they returned.

    Each thread closes its own database connection; an exception in any thread fails the caller.
    """
    import threading

    from django.db import connection

    barrier = threading.Barrier(count)
    results, errors = [], []

    def run(index):
        try:
            barrier.wait()
            results.append(target(index))
        except Exception as exc:  # surfaced below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    # Each thread runs in a copy of the caller's context: its organisation, as a request's threads do.
    threads = [threading.Thread(target=contextvars.copy_context().run, args=(run, i)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout_s)
    assert not errors, errors
    return results


def child_database_env() -> dict:
    """The environment variables that put a child process (a server, a worker) on the test database."""
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.postgresql":
        return {"DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"}
    assert not connection.is_in_memory_db(), "mark the test `server`: a child process needs a database file"
    return {"DATABASE_URL": "", "SQLITE_PATH": db["NAME"]}


def run_daphne(env: dict):
    """finobs.asgi under daphne in a new process, as deployed, with `env` added to this one's environment;
    yields its base URL (a generator for fixtures to `yield from`)."""
    import socket
    import subprocess
    import sys

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(  # noqa: S603 (this interpreter, fixed arguments)
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "finobs.asgi:application"],
        cwd=Path(__file__).resolve().parent,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"{base}/health/live", timeout=2)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline and process.poll() is None, "daphne did not start"
            time.sleep(0.2)
    yield base
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def live_server_url(transactional_db):
    """http://127.0.0.1:<port>: finobs' ASGI app served by daphne in a child process, on the test database."""
    yield from serve_asgi("127.0.0.1")


def serve_asgi(host: str, *, static_files: bool = False):
    """finobs' ASGI app served by daphne in a child process on the test database; yields its base URL.

    A generator for fixtures to `yield from`; the child inherits the test's (overridden) settings.
    """
    from functools import partial

    from channels.testing.live import make_application, set_database_connection
    from daphne.testing import DaphneProcess
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    static_wrapper = ASGIStaticFilesHandler if static_files else None
    application = partial(make_application, static_wrapper=static_wrapper)
    process = DaphneProcess(host, application, setup=partial(_in_the_child, set_database_connection))
    process.start()
    if not process.ready.wait(timeout=30):
        process.terminate()
        raise RuntimeError("daphne did not start")
    yield f"http://{host}:{process.port.value}"
    process.terminate()
    process.join(timeout=10)


def _in_the_child(setup) -> None:
    """First thing in a forked server process: asgiref's single-thread executor (every
    database_sync_to_async call of the WebSocket stack) came over from this process without its thread, if
    an earlier async test had started it, and would queue work forever; the child gets one of its own."""
    from concurrent.futures import ThreadPoolExecutor

    from asgiref.sync import SyncToAsync

    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    setup()
