"""kernel.bulk: rows written by COPY (binary, PostgreSQL) read back exactly as the ORM writes them."""

import zoneinfo
from datetime import datetime
from decimal import Decimal

import pytest

from kernel.bulk import SMALL_BATCH, bulk_insert
from scoring.models import Transaction
from scoring.tests.builders import transaction

pytestmark = pytest.mark.django_db

COMPARED = [f.attname for f in Transaction._meta.concrete_fields if f.attname != "id"]


def _varied(n: int, *, source: str) -> Transaction:
    txn = transaction(
        n,
        account_id=f"acc-ü-{n % 7}",
        amount=["-0.0001", "123456789012.3456", "0", "42.5"][n % 4],
        currency="JPY",
        merchant_id="" if n % 3 else "m-€",
        country="",
        metadata={"note": 'line\nbreak\ttab \\ "quoted"', "nested": {"n": n, "big": 2**62, "f": 0.1}, "list": []},
    )
    txn.source = source
    # A non-UTC zone and microseconds: stored as the same instant.
    txn.occurred_at = datetime(2026, 3, 29, 1, 59, 59, 999_999, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))
    txn.received_at = datetime(2026, 11, 1, 12, 0, 0, n, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    return txn


def test_copied_rows_read_back_as_the_orm_writes_them():
    count = SMALL_BATCH + 40  # COPY on PostgreSQL, bulk_create elsewhere
    by_orm = [_varied(n, source="orm") for n in range(count)]
    by_copy = [_varied(n, source="copy") for n in range(count)]
    for txn in by_orm:
        txn.save()
    bulk_insert(Transaction, by_copy)

    assert all(txn.pk for txn in by_copy) and not any(txn._state.adding for txn in by_copy)

    def stored(source: str) -> list[dict]:
        rows = Transaction.objects.filter(source=source).order_by("external_id").values(*COMPARED)
        return [{**row, "source": None} for row in rows]

    assert stored("copy") == stored("orm")
    big = Transaction.objects.filter(source="copy", amount=Decimal("123456789012.3456"))
    assert big.count() == sum(1 for n in range(count) if n % 4 == 1)
    assert set(Transaction.objects.filter(source="copy").values_list("pk", flat=True)) == {t.pk for t in by_copy}


@pytest.mark.postgres
def test_more_than_one_row_goes_by_copy_on_postgresql(django_assert_num_queries):
    rows = [_varied(n, source="copy") for n in range(SMALL_BATCH + 1)]
    Transaction.objects.exists()  # the session's organisation set first (organisations.row_security)
    # The sequence's name, then the ids drawn in one query; the COPY goes past Django's query log, where
    # an INSERT would show.
    with django_assert_num_queries(2) as captured:
        bulk_insert(Transaction, rows)
    assert captured.captured_queries[1]["sql"].startswith("SELECT nextval(")
    assert Transaction.objects.filter(source="copy").count() == SMALL_BATCH + 1


def test_a_constraint_broken_by_copied_rows_raises_djangos_integrity_error():
    """The ingest pipeline retries a batch on IntegrityError (a concurrent insert of the same external id)."""
    from django.db import IntegrityError
    from django.db import transaction as db_transaction

    first = [_varied(n, source="twice") for n in range(SMALL_BATCH + 3)]
    bulk_insert(Transaction, first)
    again = [_varied(n, source="twice") for n in range(SMALL_BATCH + 3)]
    with pytest.raises(IntegrityError), db_transaction.atomic():
        bulk_insert(Transaction, again)
    assert Transaction.objects.filter(source="twice").count() == len(first)
