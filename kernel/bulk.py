"""Bulk writes for hot paths: PostgreSQL binary COPY (psycopg 3), bulk_create elsewhere.

bulk_create on PostgreSQL sends 10,000 rows as quoted arrays, and the client-side quoting alone
costs seconds; COPY streams the rows and is several times faster (bench/ingest.py). In COPY's binary
format, with every column's type named up front, psycopg dumps each value with the type's own binary
dumper instead of looking one up per value and formatting text: 10,000 transaction rows cost ~50 ms
of Python instead of ~100 ms, and PostgreSQL reads numbers and times without parsing them.

PostgreSQL refuses `COPY FROM` into a table whose row-level security applies to the session's role (every
role but a superuser, as finobs' tables force it): for those roles the rows are copied into a temporary
staging table of the session and moved into the table by one `INSERT ... SELECT`, which the table's
policies check. One more round trip per COPY, and the server writes the rows twice (the temporary table's
without WAL).
"""

import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter

import msgspec
from django.db import connection, transaction
from django.db.models import AutoField, BigAutoField, Field, Model
from psycopg.types.json import set_json_dumps

from kernel.switches import device_off

# Up to this many rows, one INSERT ... RETURNING (bulk_create); more go by COPY. Measured in-process on
# PostgreSQL, per insert of Transactions: 1 row 0.69 ms of CPU (1.1 ms wall) by INSERT against 0.76 (1.4)
# by COPY; 3 rows 1.16 (1.7) against 0.75 (1.3); 7 rows 1.65 (2.4) against 0.85 (1.6): Django compiling
# the INSERT and psycopg quoting each value client-side cost more than COPY's extra round trip. (Over
# HTTP, single items from 8 clients, the difference did not show through this machine's noise.)
SMALL_BATCH = 1
_encode_json = msgspec.json.Encoder(decimal_format="number").encode
_TYPE_MODIFIER = re.compile(r"\(.*\)")
# FINOBS_NO_COPY=1: bulk_insert is bulk_create at every size (copy_rows, for staging tables, stays).
_NO_COPY = device_off("COPY")
# Called with the connection before each COPY: COPY goes around Django's execute wrappers, through which
# every other statement passes (organisations registers the one that sets the session's organisation).
before_copy: list[Callable] = []


def bulk_insert(model: type[Model], objs: Sequence[Model]) -> Sequence[Model]:
    """Insert `objs` (unsaved, pk unset for auto ids) in the current transaction; sets their pks."""
    if not objs:
        return objs
    if _NO_COPY or connection.vendor != "postgresql" or len(objs) <= SMALL_BATCH:
        return model.objects.bulk_create(objs)
    meta = model._meta
    if isinstance(meta.pk, AutoField | BigAutoField):
        _reserve_ids(meta.db_table, meta.pk.column, objs)
    fields = meta.concrete_fields
    # psycopg dumps each attribute itself, JSON with msgspec (Field.get_db_prep_save per value cost
    # more than the COPY itself); attrgetter reads a row in one C call (a getattr loop: ~3 us a row).
    row_of = attrgetter(*(f.attname for f in fields))
    copy_rows(meta.db_table, fields, map(row_of, objs))
    alias = connection.alias  # once: each read of the proxy looks the connection up (~3 us)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = alias
    return objs


def copy_rows(table: str, fields: Sequence[Field], rows: Iterable[Sequence], *, temporary: bool = False) -> None:
    """COPY `rows` (sequences of Python values, one per field of `fields`, in order) into `table` (PostgreSQL).

    The fields name the columns and their types; `table` may be another table with those columns (a staging
    table). Every value must be of its column's Python type (an int for an integer column, a Decimal for a
    numeric one...): binary COPY sends no text for PostgreSQL to convert. `temporary`: `table` is a temporary
    table of the session (a caller's own staging table), which has no row-level security to go around.
    """
    with connection.cursor() as cursor:
        for hook in before_copy:
            hook(connection)
        if not temporary and _row_security_may_apply(cursor):
            with transaction.atomic(savepoint=False):  # one transaction, no savepoint of its own
                staging = _staging_table(cursor, table, fields)
                _copy(cursor, staging, fields, rows)
                _move(cursor, staging, table, fields)
        else:
            _copy(cursor, table, fields, rows)


def _copy(cursor, table: str, fields: Sequence[Field], rows: Iterable[Sequence]) -> None:
    statement, types, has_json = _copy_statement(table, fields)
    # wrap_database_errors: psycopg's copy() is not Django's cursor, whose execute() raises Django's
    # exceptions (an IntegrityError the ingest pipeline retries on, not psycopg's UniqueViolation).
    with connection.wrap_database_errors:
        psycopg_cursor = cursor.cursor
        if has_json:
            set_json_dumps(_encode_json, psycopg_cursor)
        with psycopg_cursor.copy(statement) as copy:
            copy.set_types(types)
            write_row = copy.write_row
            for row in rows:
                write_row(row)


def _row_security_may_apply(cursor) -> bool:
    """Whether the session's role is subject to row-level security: any role but a superuser. The server
    reports `is_superuser` to the client as it changes (SET ROLE included): no round trip to ask."""
    return cursor.cursor.connection.info.parameter_status("is_superuser") != "on"


def _staging_table(cursor, table: str, fields: Sequence[Field]) -> str:
    """The session's temporary table with the columns of `fields` of `table`, created on first use.

    Created in every transaction until one that created it commits (a rollback drops it again): this
    connection then remembers it, and later COPYs skip the CREATE's round trip.
    """
    quote = connection.ops.quote_name
    columns = [f.column for f in fields]
    staging = f"copy_{table[:40]}_{zlib.crc32(','.join(columns).encode()):08x}"
    created = cursor.cursor.connection.__dict__.setdefault("_finobs_staging_tables", set())
    if staging not in created:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {quote(staging)} AS "  # noqa: S608 (quoted names)
            f"SELECT {', '.join(map(quote, columns))} FROM {quote(table)} WITH NO DATA"
        )
        connection.on_commit(lambda: created.add(staging))
    return staging


def _move(cursor, staging: str, table: str, fields: Sequence[Field]) -> None:
    """Move the staged rows into `table` and empty the staging table, in one statement the policies check."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    cursor.execute(
        f"WITH moved AS (DELETE FROM {quote(staging)} RETURNING {columns}) "  # noqa: S608 (quoted names)
        f"INSERT INTO {quote(table)} ({columns}) SELECT {columns} FROM moved"
    )


def _copy_statement(table: str, fields: Sequence[Field]) -> tuple[str, tuple[str, ...], bool]:
    """The COPY statement, the column types and whether any is JSON, for `table` and `fields`."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    types = tuple(_TYPE_MODIFIER.sub("", f.db_type(connection)) for f in fields)
    statement = f"COPY {quote(table)} ({columns}) FROM STDIN (FORMAT BINARY)"
    return statement, types, any(t in ("json", "jsonb") for t in types)


def _reserve_ids(table: str, column: str, objs: Sequence[Model]) -> None:
    """Draw one id per object from the table's own sequence, in one round trip after finding its name."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, column])
        (sequence,) = cursor.fetchone()
        # The sequence by name: pg_get_serial_sequence() inside the select list ran once per row
        # (a catalog lookup each: 50-90 ms for 10,000 ids, against 8-15 ms).
        cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, len(objs)])
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk
