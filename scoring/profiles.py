"""Account and counterparty profiles: running aggregates per account (and per account and country / merchant
/ merchant category) and per counterparty and sender, updated in the ingest transaction with atomic
increments, so concurrent batches for one account add up correctly.

One multi-row INSERT ... ON CONFLICT DO UPDATE per table and chunk (PostgreSQL and SQLite >= 3.24 share
the syntax): measured ~40 ms for a 10,000-transaction batch on PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from django.db import connection, transaction
from django.db.models import Model

from kernel.bulk import copy_rows
from scoring.history import amount_band, band_value, epoch_s, eur_amounts
from scoring.models import AccountProfile, AccountValueCount, CounterpartySender, Transaction

CHUNK_ROWS = 2000  # keeps parameters under SQLite's 32,766 and PostgreSQL's 65,535
SMALL_ROWS = 100  # up to this many rows, one VALUES statement beats COPY into a temporary table


def profiles_record(transactions: Sequence[Transaction]) -> None:
    """Add `transactions` (being stored now, all of one organisation) to their accounts' profiles in that
    organisation; call inside the storing transaction."""
    if not transactions:
        return
    organisation_id = transactions[0].organisation_id
    account = np.array([t.account_id for t in transactions], dtype=object)
    seconds = np.fromiter((epoch_s(t.occurred_at) for t in transactions), np.float64, len(transactions))
    amount = np.fromiter((float(t.amount) for t in transactions), np.float64, len(seconds))
    log_amount = np.log1p(np.abs(amount))
    log_eur = np.log1p(np.abs(eur_amounts(amount, [t.currency for t in transactions])))
    angle = 2 * np.pi * np.mod(seconds, 86_400) / 86_400
    accounts, index = np.unique(account.astype(str), return_inverse=True)
    sums = [
        np.bincount(index, weights=v, minlength=len(accounts))
        for v in (np.ones(len(seconds)), log_amount, log_amount**2, np.sin(angle), np.cos(angle))
    ]
    last = np.full(len(accounts), -np.inf)
    np.maximum.at(last, index, seconds)
    largest = np.zeros(len(accounts))
    np.maximum.at(largest, index, log_eur)
    profile_rows = [
        (organisation_id, a, int(n), s1, s2, ss, sc, lt, mx)
        for a, n, s1, s2, ss, sc, lt, mx in zip(
            accounts.tolist(), *(x.tolist() for x in sums), last.tolist(), largest.tolist(), strict=True
        )
    ]
    values: dict[tuple[str, str, str], list] = defaultdict(lambda: [0, 0.0])
    senders: dict[tuple[str, str], list] = {}
    # The kinds' plain values: an enum member in the key hashes through Enum.__hash__, a Python call per row.
    country = AccountValueCount.Kind.COUNTRY.value
    merchant = AccountValueCount.Kind.MERCHANT.value
    category = AccountValueCount.Kind.CATEGORY.value
    band_kind = AccountValueCount.Kind.AMOUNT_BAND.value
    bands = amount_band(log_eur).tolist()
    for t, t_s, log_amount_eur, band in zip(transactions, seconds.tolist(), log_eur.tolist(), bands, strict=True):
        values[(t.account_id, country, (t.country or "").strip().upper())][0] += 1
        mcc = (t.merchant_category or "").strip()
        totals = values[(t.account_id, category, mcc)]
        totals[0] += 1
        totals[1] += log_amount_eur
        values[(t.account_id, band_kind, band_value(mcc, band))][0] += 1
        if t.merchant_id:
            values[(t.account_id, merchant, t.merchant_id)][0] += 1
            sender = senders.get((t.merchant_id, t.account_id))
            if sender is None:
                senders[(t.merchant_id, t.account_id)] = [1, t_s, t_s]
            else:
                sender[0] += 1
                sender[1] = min(sender[1], t_s)
                sender[2] = max(sender[2], t_s)
    postgresql = connection.vendor == "postgresql"
    greatest, least = ("GREATEST", "LEAST") if postgresql else ("MAX", "MIN")
    profile_table = AccountProfile._meta.db_table
    sum_columns = ("n", "sum_log_amount", "sum_log_amount_sq", "sum_hour_sin", "sum_hour_cos")
    updates = [f"{c} = {profile_table}.{c} + excluded.{c}" for c in sum_columns]
    updates.append(f"last_epoch_s = {greatest}({profile_table}.last_epoch_s, excluded.last_epoch_s)")
    updates.append(f"max_log_amount = {greatest}({profile_table}.max_log_amount, excluded.max_log_amount)")
    _upsert(
        AccountProfile,
        ["organisation_id", "account_id", *sum_columns, "last_epoch_s", "max_log_amount"],
        profile_rows,
        text_keys=["account_id"],
        updates=", ".join(updates),
    )
    value_table = AccountValueCount._meta.db_table
    _upsert(
        AccountValueCount,
        ["organisation_id", "account_id", "kind", "value", "n", "sum_log_amount"],
        [(organisation_id, *key, n, total) for key, (n, total) in values.items()],
        text_keys=["account_id", "kind", "value"],
        updates=f"n = {value_table}.n + excluded.n, "
        f"sum_log_amount = {value_table}.sum_log_amount + excluded.sum_log_amount",
    )
    sender_table = CounterpartySender._meta.db_table
    _upsert(
        CounterpartySender,
        ["organisation_id", "merchant_id", "account_id", "n", "first_epoch_s", "last_epoch_s"],
        [(organisation_id, *key, n, first_s, last_s) for key, (n, first_s, last_s) in senders.items()],
        text_keys=["merchant_id", "account_id"],
        updates=f"n = {sender_table}.n + excluded.n, "
        f"first_epoch_s = {least}({sender_table}.first_epoch_s, excluded.first_epoch_s), "
        f"last_epoch_s = {greatest}({sender_table}.last_epoch_s, excluded.last_epoch_s)",
    )


def profiles_rebuild(*, organisation) -> int:
    """Recompute an organisation's profiles from its stored transactions (idempotent). Returns accounts.

    One transaction: the upserts stage their rows in a temporary table emptied at commit, so they must not
    run in autocommit.
    """
    fields = [
        "organisation_id", "account_id", "amount", "currency", "occurred_at", "country", "merchant_id",
        "merchant_category",
    ]  # fmt: skip
    with transaction.atomic():
        for model in (AccountProfile, AccountValueCount, CounterpartySender):
            model.objects.for_organisation(organisation).delete()
        batch = []
        stored = Transaction.objects.for_organisation(organisation).order_by("pk").only(*fields)
        for txn in stored.iterator(chunk_size=10_000):
            batch.append(txn)
            if len(batch) == 10_000:
                profiles_record(batch)
                batch = []
        profiles_record(batch)
    return AccountProfile.objects.for_organisation(organisation).count()


def _upsert(model: type[Model], columns: list[str], rows: list[tuple], *, text_keys: list[str], updates: str) -> None:
    """Add `rows` to `model`'s table: new keys (the organisation and `text_keys`) inserted, existing keys
    updated by `updates` (increments).

    PostgreSQL: COPY into a temporary table, then one INSERT ... SELECT ... ON CONFLICT (a VALUES list of
    14,000 rows measured 2.6 s, mostly parsing; COPY + INSERT SELECT ~0.2 s). SQLite: chunked VALUES.
    Table and column names are this module's constants; every value is a parameter or COPY data.
    """
    if not rows:
        return
    table = model._meta.db_table
    names = ", ".join(columns)
    # Byte order: rows are locked in this order by both paths, and sorting 17,000 keys by the
    # database's locale measured 88 ms against 12 ms in "C" order.
    conflict = ", ".join(["organisation_id", *text_keys])
    order = ", ".join(["organisation_id", *(f'{column} COLLATE "C"' for column in text_keys)])
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and len(rows) <= SMALL_ROWS:
            # A small batch (a single transaction is a batch of one): one statement instead of four.
            # Sorted by PostgreSQL like the COPY path below, so both lock rows in the same order.
            placeholders = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(rows))
            sql = f"INSERT INTO {table} ({names}) SELECT {names} FROM (VALUES {placeholders}) AS v({names}) ORDER BY {order} ON CONFLICT ({conflict}) DO UPDATE SET {updates}"  # noqa: E501, S608
            cursor.execute(sql, [value for row in rows for value in row])
            return
        if connection.vendor == "postgresql":
            staging = f"{table}_staging"
            create = f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS AS SELECT {names} FROM {table} WITH NO DATA"  # noqa: E501, S608
            cursor.execute(create)
            copy_rows(staging, [model._meta.get_field(column) for column in columns], rows, temporary=True)
            # Rows are locked in key order, so two batches sharing accounts cannot deadlock each other.
            sql = f"INSERT INTO {table} ({names}) SELECT {names} FROM {staging} ORDER BY {order} ON CONFLICT ({conflict}) DO UPDATE SET {updates}"  # noqa: E501, S608
            cursor.execute(sql)
            cursor.execute(f"DELETE FROM {staging}")  # noqa: S608 (the same transaction may record twice)
            return
        placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
        for start in range(0, len(rows), CHUNK_ROWS):
            chunk = rows[start : start + CHUNK_ROWS]
            values = ", ".join([placeholders] * len(chunk))
            sql = f"INSERT INTO {table} ({names}) VALUES {values} ON CONFLICT ({conflict}) DO UPDATE SET {updates}"  # noqa: S608
            cursor.execute(sql, [value for row in chunk for value in row])
