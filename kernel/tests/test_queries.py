"""kernel.queries: CompiledQuery compiled once, evaluated with fresh data and new parameter values;
read_concurrently's reads at the same time, each on a connection of its own."""

import threading
import time
from functools import partial

import pytest
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext

from apikeys.models import ApiKey
from apikeys.services import api_key_create
from kernel.queries import CompiledQuery, read_concurrently
from scoring.models import Rule

pytestmark = pytest.mark.django_db


def test_instances_with_new_parameter_values_read_the_current_rows():
    by_prefix = CompiledQuery(lambda: ApiKey.objects.filter(prefix=""))
    first, _ = api_key_create(name="one", source="s1", scopes=["ingest"])
    second, _ = api_key_create(name="two", source="s2", scopes=["read"])
    assert by_prefix.instances([first.prefix]) == [first]
    assert by_prefix.instances([second.prefix])[0].scopes == ["read"]
    assert by_prefix.instances(["nothing"]) == []
    assert by_prefix.first([first.prefix]) == first
    assert by_prefix.first(["nothing"]) is None
    second.name = "renamed"
    second.save()
    assert by_prefix.instances([second.prefix])[0].name == "renamed"  # nothing is cached but the SQL


def test_default_parameters_and_rows():
    active = CompiledQuery(lambda: Rule.objects.filter(is_active=True).values_list("code", flat=True))
    Rule.objects.update(is_active=False)
    assert active.rows() == []
    rule = Rule.objects.create(code="r-new", name="New", kind=Rule.Kind.VELOCITY, action=Rule.Action.FLAG)
    assert active.rows() == [(rule.code,)]


def test_the_sql_is_compiled_once(monkeypatch):
    from django.db.models.sql.compiler import SQLCompiler

    compiled = []
    original = SQLCompiler.as_sql
    monkeypatch.setattr(SQLCompiler, "as_sql", lambda self, *a, **k: compiled.append(1) or original(self, *a, **k))
    active = CompiledQuery(lambda: Rule.objects.filter(is_active=True))
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            active.instances()
    assert len(compiled) == 1
    assert len(queries) == 3


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _live(pids: set[int]) -> set[int]:
    """Those of `pids` that are still connected backends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)", [list(pids)])
        return {pid for (pid,) in cursor.fetchall()}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_reads_run_at_the_same_time_on_connections_of_their_own_which_are_closed_after():
    all_three = threading.Barrier(3, timeout=10)  # passes only if the three reads run at once

    def read(value):
        all_three.wait()
        return value, _backend_pid()

    results = read_concurrently(*(partial(read, value) for value in ("a", "b", "c")))
    assert [value for value, _ in results] == ["a", "b", "c"]  # in the order given
    pids = {pid for _, pid in results}
    assert len(pids) == 3
    assert _backend_pid() not in pids
    deadline = time.monotonic() + 10
    while _live(pids) and time.monotonic() < deadline:  # a backend exits just after its close
        time.sleep(0.05)
    assert not _live(pids)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_error_in_a_read_reaches_the_caller():
    def broken():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")

    with pytest.raises(DataError):
        read_concurrently(_backend_pid, broken)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_reads_run_on_its_connection_and_see_its_rows():
    with transaction.atomic():
        Rule.objects.create(code="r-uncommitted", name="Uncommitted", kind=Rule.Kind.VELOCITY, action=Rule.Action.FLAG)
        seen, pid = read_concurrently(lambda: Rule.objects.filter(code="r-uncommitted").exists(), _backend_pid)
        assert seen
        assert pid == _backend_pid()
        transaction.set_rollback(True)
