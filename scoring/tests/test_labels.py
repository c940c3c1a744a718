import pytest
from django.core.exceptions import ValidationError

from audit.models import AuditEvent
from scoring.models import Label, Transaction
from scoring.services import record_labels
from scoring.tests.builders import transaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def saved():
    return Transaction.objects.bulk_create([transaction(n) for n in range(1, 6)])


def test_labels_are_recorded_and_audited(saved, django_user_model):
    analyst = django_user_model.objects.create_user(username="alice", password=None)
    ids = [saved[0].pk, saved[2].pk, saved[2].pk]

    updated = record_labels(transaction_ids=ids, label=Label.FRAUD, actor=analyst)

    assert updated == 2
    labels = dict(Transaction.objects.values_list("pk", "label"))
    assert labels == {t.pk: Label.FRAUD if t.pk in ids else Label.UNKNOWN for t in saved}
    event = AuditEvent.objects.get(action="transaction.labelled")
    assert event.actor == "user:alice"
    assert event.payload["label"] == "fraud"
    assert event.payload["transaction_ids"] == sorted({saved[0].pk, saved[2].pk})
    assert event.payload["updated"] == 2


def test_a_label_can_be_corrected(saved):
    record_labels(transaction_ids=[saved[0].pk], label="fraud", actor="tests")
    assert record_labels(transaction_ids=[saved[0].pk], label="legit", actor="tests") == 1
    assert Transaction.objects.get(pk=saved[0].pk).label == Label.LEGIT


def test_an_unknown_label_is_rejected_and_nothing_changes(saved):
    with pytest.raises(ValidationError) as excinfo:
        record_labels(transaction_ids=[saved[0].pk], label="suspicious", actor="tests")
    assert "label" in excinfo.value.message_dict
    assert set(Transaction.objects.values_list("label", flat=True)) == {Label.UNKNOWN}
    assert not AuditEvent.objects.filter(action="transaction.labelled").exists()


def test_ids_must_be_integers(saved):
    with pytest.raises(ValidationError):
        record_labels(transaction_ids=["abc"], label="fraud", actor="tests")


def test_unknown_ids_are_not_counted(saved):
    assert record_labels(transaction_ids=[saved[1].pk, 10_000_000], label="legit", actor="tests") == 1


def test_nothing_to_label(saved):
    assert record_labels(transaction_ids=[], label="fraud", actor="tests") == 0
    assert not AuditEvent.objects.filter(action="transaction.labelled").exists()
