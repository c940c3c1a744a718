"""kernel.queries: CompiledQuery compiled once, evaluated with fresh data and new parameter values."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apikeys.models import ApiKey
from apikeys.services import api_key_create
from kernel.queries import CompiledQuery
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
