"""The ingest duplicate check looks each external id up in the unique index, whatever the statistics say."""

import pytest
from django.db import connection
from django.utils import timezone

from conftest import default_organisation
from ingestion.services.pipeline import _STORED_SQL
from kernel.arrays import text_array
from scoring.models import Transaction

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def store(source: str, n: int) -> None:
    now = timezone.now()
    Transaction.objects.bulk_create(
        Transaction(
            source=source,
            external_id=f"{source}-{i}",
            account_id=f"acc-{i % 97}",
            amount="1.00",
            currency="EUR",
            occurred_at=now,
            received_at=now,
        )
        for i in range(n)
    )


def test_a_source_grown_since_the_last_analyze_is_not_scanned_whole():
    store("old", 3000)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Transaction._meta.db_table}")
    store("new", 3000)  # the statistics know nothing of "new": estimated at about one row
    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + _STORED_SQL,
            [default_organisation().pk, text_array(["new-7", "absent"]), "new"],
        )
        plan = cursor.fetchone()[0][0]["Plan"]

    def scans(node):
        yield node
        for child in node.get("Plans", []):
            yield from scans(child)

    (scan,) = [n for n in scans(plan) if n.get("Relation Name") == Transaction._meta.db_table]
    assert "external_id" in scan["Index Cond"], scan
    assert scan.get("Rows Removed by Filter", 0) == 0, scan  # not a walk over the source's 3,000 rows
    assert scan["Actual Rows"] == 1
