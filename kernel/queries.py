"""Hot queries whose SQL Django compiles once per process instead of on every evaluation.

Evaluating a queryset compiles its SQL each time: for a small lookup that is most of its cost (an API
key by prefix: ~0.55 of ~0.9 ms). A request or an ingest run does several such lookups, and under load
they took a fifth of the web process' CPU. A CompiledQuery keeps the statement Django built and runs it
again with new parameter values.

Only for querysets without select_related or prefetches (raw queries fill no related objects) whose
shape does not depend on the values (no `__in` lists: their placeholders depend on the list's length).

read_concurrently runs a big batch's independent reads at the same time, on connections of their own.
"""

import contextvars
from collections.abc import Callable, Sequence
from concurrent import futures
from functools import cached_property
from typing import TypeVar

from django.db import connection
from django.db.models import Model, QuerySet

T = TypeVar("T")


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


# Threads for read_concurrently: each opens its own connection per call and closes it after.
_reader_threads = futures.ThreadPoolExecutor(max_workers=3, thread_name_prefix="concurrent-read")


def read_concurrently(*reads: Callable[[], T]) -> list[T]:
    """The results of `reads`, run at the same time on connections of their own (PostgreSQL, autocommit).

    For a big batch's independent reads: PostgreSQL runs each query on one core, so three of them one after
    the other leave the machine's other core idle. Elsewhere (SQLite), or inside a transaction (other
    connections would not see its uncommitted rows), they run here, one after the other. A read must
    not write, and must use `django.db.connection` (the thread's own) for its queries.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block or len(reads) < 2:
        return [read() for read in reads]
    # Each in a copy of the caller's context: its queries' spans belong to the caller's trace.
    pending = [_reader_threads.submit(contextvars.copy_context().run, _on_own_connection, read) for read in reads]
    return [future.result() for future in pending]


def _on_own_connection(read: Callable[[], T]) -> T:
    try:
        return read()
    finally:
        # Back to the pool (web processes), or closed: a connection left open in this thread would
        # outlive its settings (a test database being dropped, CONN_MAX_AGE).
        connection.close()
