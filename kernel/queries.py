"""Hot queries whose SQL Django compiles once per process instead of on every evaluation.

Evaluating a queryset compiles its SQL each time: for a small lookup that is most of its cost (an API
key by prefix: ~0.55 of ~0.9 ms). A request or an ingest run does several such lookups, and under load
they took a fifth of the web process' CPU. A CompiledQuery keeps the statement Django built and runs it
again with new parameter values.

Only for querysets without select_related or prefetches (raw queries fill no related objects) whose
shape does not depend on the values (no `__in` lists: their placeholders depend on the list's length).
"""

from collections.abc import Callable, Sequence
from functools import cached_property

from django.db import connection
from django.db.models import Model, QuerySet


class CompiledQuery:
    """`build()`'s SQL, compiled on first use, evaluated with its own or new parameter values."""

    def __init__(self, build: Callable[[], QuerySet]):
        self._build = build

    @cached_property
    def _compiled(self) -> tuple[type[Model], str, tuple]:
        queryset = self._build()
        sql, params = queryset.query.sql_with_params()
        return queryset.model, sql, params

    def instances(self, params: Sequence | None = None) -> list:
        """The model instances the queryset would give (params: new values for its placeholders, in order)."""
        model, sql, compiled_params = self._compiled
        return list(model._default_manager.raw(sql, compiled_params if params is None else params))

    def first(self, params: Sequence | None = None) -> Model | None:
        """The first of instances(params), or None: for lookups of at most one row (a unique key)."""
        found = self.instances(params)
        return found[0] if found else None

    def rows(self, params: Sequence | None = None) -> list[tuple]:
        """The rows as tuples of database values (for values_list() querysets)."""
        _model, sql, compiled_params = self._compiled
        with connection.cursor() as cursor:
            cursor.execute(sql, compiled_params if params is None else params)
            return cursor.fetchall()
