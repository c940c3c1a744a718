"""Appending to the chain and verifying an untouched chain."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction

from audit.models import AuditEvent
from audit.services import GENESIS_HASH, AuditEntry, actor_label, audit_log, audit_log_many, audit_verify

pytestmark = pytest.mark.django_db


def test_first_event_starts_from_genesis_and_each_links_to_the_previous():
    first = audit_log(actor="system", action="model.promoted", object_type="model", object_id=3)
    second = audit_log(actor="user:alice", action="case.opened", object_type="case", object_id="C-1")

    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert len({first.hash, second.hash}) == 2
    assert AuditEvent.objects.get(pk=first.pk).object_id == "3"
    assert audit_verify() == audit_verify(batch_size=1)
    assert audit_verify().ok
    assert audit_verify().checked == 2


def test_empty_trail_verifies():
    report = audit_verify()
    assert (report.ok, report.checked, report.first_bad_id) == (True, 0, None)


def test_audit_log_many_of_1000_entries_chains_in_order(chain):
    events = chain(1000)

    stored = list(AuditEvent.objects.values_list("id", "prev_hash", "hash", "payload"))
    assert [row[0] for row in stored] == [e.pk for e in events]
    assert stored[0][1] == GENESIS_HASH
    assert all(stored[i][1] == stored[i - 1][2] for i in range(1, 1000))
    assert [row[3]["seq"] for row in stored] == list(range(1000))
    report = audit_verify(batch_size=64)
    assert report.ok
    assert report.checked == 1000


def test_later_batches_extend_the_same_chain(chain):
    chain(3)
    more = chain(2)
    assert more[0].prev_hash == AuditEvent.objects.get(pk=more[0].pk - 1).hash
    assert audit_verify().checked == 5


def test_query_count_does_not_grow_with_batch_size(django_assert_max_num_queries, django_assert_num_queries, chain):
    chain(1)
    with django_assert_max_num_queries(10) as small:
        chain(10)
    with django_assert_num_queries(len(small.captured_queries)):
        chain(100)


def test_payload_values_that_json_cannot_hold_are_stored_as_text_and_still_verify():
    payload = {
        "amount": Decimal("-12.50"),
        "at": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        "ratio": 0.1,
        "huge": 1e20,
        "zero": -0.0,
        "items": (1, 2),
        "note": "Zürich ✓",
    }
    event = audit_log(actor=None, action="ingest.batch", payload=payload)

    event.refresh_from_db()
    assert event.payload["amount"] == "-12.50"
    assert event.payload["at"] == "2026-01-02 03:04:05+00:00"
    assert event.payload["items"] == [1, 2]
    assert event.payload["note"] == "Zürich ✓"
    assert audit_verify().ok


def test_not_a_number_is_refused():
    with pytest.raises(ValueError):
        audit_log(actor=None, action="ingest.batch", payload={"score": float("nan")})
    assert not AuditEvent.objects.exists()


def test_event_joins_the_callers_transaction():
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_log(actor=None, action="case.opened")
        raise RuntimeError("the business write failed")
    assert not AuditEvent.objects.exists()


def test_too_long_fields_are_refused_before_anything_is_written():
    entries = [AuditEntry(actor=None, action="case.opened"), AuditEntry(actor=None, action="x" * 65)]
    with pytest.raises(ValueError, match="action"):
        audit_log_many(entries)
    with pytest.raises(ValueError, match="action"):
        audit_log(actor=None, action="")
    assert not AuditEvent.objects.exists()


def test_empty_list_writes_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert audit_log_many([]) == []


def test_actor_labels(django_user_model):
    class ApiKeyLike:
        audit_label = "api:ab12cd34"

    alice = django_user_model.objects.create_user(username="alice")
    assert actor_label(None) == "system"
    assert actor_label("mcp:agent-7") == "mcp:agent-7"
    assert actor_label(ApiKeyLike()) == "api:ab12cd34"
    assert actor_label(alice) == "user:alice"
    assert actor_label(AnonymousUser()) == "anonymous"
    with pytest.raises(TypeError):
        actor_label(42)
    assert audit_log(actor=alice, action="case.opened").actor == "user:alice"
