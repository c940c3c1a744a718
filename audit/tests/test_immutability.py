"""The ORM refuses to change or remove audit events."""

import pytest

from audit.models import AuditEvent, AuditImmutableError
from audit.services import audit_log, audit_verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    return audit_log(actor="user:alice", action="case.closed", object_type="case", object_id=7, payload={"n": 1})


def test_saving_an_existing_event_is_refused(event):
    event.payload = {"n": 2}
    with pytest.raises(AuditImmutableError):
        event.save()
    with pytest.raises(AuditImmutableError):
        AuditEvent.objects.get(pk=event.pk).save(update_fields=["actor"])
    assert AuditEvent.objects.get(pk=event.pk).payload == {"n": 1}


def test_deleting_an_event_is_refused(event):
    with pytest.raises(AuditImmutableError):
        event.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.parametrize("manager", ["objects", "_base_manager", "_default_manager"])
def test_queryset_update_delete_and_bulk_update_are_refused(event, manager):
    queryset = getattr(AuditEvent, manager).all()
    with pytest.raises(AuditImmutableError):
        queryset.filter(pk=event.pk).update(actor="user:mallory")
    with pytest.raises(AuditImmutableError):
        queryset.delete()
    event.actor = "user:mallory"
    with pytest.raises(AuditImmutableError):
        queryset.bulk_update([event], ["actor"])
    assert AuditEvent.objects.get(pk=event.pk).actor == "user:alice"
    assert audit_verify().ok
