"""Decision.features in PostgreSQL's json type: written by the ORM and by ingest's COPY, read back as written."""

import pytest
from django.db import connection

from kernel.bulk import SMALL_BATCH, bulk_insert
from scoring.models import Decision
from scoring.tests.builders import save_with_decision, transaction

pytestmark = pytest.mark.django_db


def test_features_read_back_as_written_by_the_orm_and_by_copy(champion):
    decision = save_with_decision(transaction(1), champion)
    decision.features = [0.5, 1e-06, -3.0, 0, 123456.789012]
    decision.save(update_fields=["features"])
    assert Decision.objects.get(pk=decision.pk).features == [0.5, 1e-06, -3.0, 0, 123456.789012]
    assert list(Decision.objects.filter(features__isnull=False).values_list("features", flat=True)) == [
        [0.5, 1e-06, -3.0, 0, 123456.789012]
    ]
    decision.features = "[1, 2]"  # a JSON string stays a string, not the list its text spells
    decision.save(update_fields=["features"])
    assert Decision.objects.get(pk=decision.pk).features == "[1, 2]"

    many = [save_with_decision(transaction(n), champion) for n in range(2, 3 + SMALL_BATCH)]
    Decision.objects.filter(pk__in=[d.pk for d in many]).delete()
    for n, d in enumerate(many):
        d.features = [float(n), None, True]
    bulk_insert(Decision, many)  # COPY on PostgreSQL (more than SMALL_BATCH rows)
    stored = dict(Decision.objects.filter(pk__in=[d.pk for d in many]).values_list("pk", "features"))
    assert stored == {d.pk: [float(n), None, True] for n, d in enumerate(many)}
    assert Decision.objects.filter(features__isnull=True).count() == 0


@pytest.mark.postgres
def test_features_are_stored_as_json_text_not_jsonb():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT data_type FROM information_schema.columns WHERE table_name = %s AND column_name = 'features'",
            [Decision._meta.db_table],
        )
        assert cursor.fetchone() == ("json",)
