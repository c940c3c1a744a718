"""A decision's transaction and model version must exist: checked by the database's triggers (migration 0012)."""

import threading

import pytest
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from conftest import thread_in_this_context
from kernel.bulk import SMALL_BATCH, bulk_insert
from kernel.instances import unsaved
from scoring.models import Decision, ModelVersion, Transaction
from scoring.tests.builders import save_with_decision
from scoring.tests.builders import transaction as build_transaction

pytestmark = pytest.mark.django_db

MISSING_ID = 987_654_321


def decision_for(transaction_id: int, model_version_id: int) -> Decision:
    return unsaved(
        Decision,
        {
            "transaction_id": transaction_id,
            "model_version_id": model_version_id,
            "score": 0.5,
            "risk_level": "LOW",
            "flagged": False,
            "rule_hits": [],
            "explanation": None,
            "features": None,
            "arm": "",
            "latency_ms": 0.1,
            "created_at": timezone.now(),
        },
    )


def saved_transactions(count: int) -> list[Transaction]:
    transactions = [build_transaction(n) for n in range(count)]
    bulk_insert(Transaction, transactions)
    return transactions


@pytest.mark.parametrize("rows", [1, SMALL_BATCH + 5], ids=["one row", "COPY"])
def test_a_decision_for_a_missing_transaction_is_refused_and_nothing_of_its_statement_stays(champion, rows):
    stored = saved_transactions(rows - 1)
    decisions = [decision_for(t.pk, champion.pk) for t in stored] + [decision_for(MISSING_ID, champion.pk)]
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert(Decision, decisions)
    assert not Decision.objects.exists()
    bulk_insert(Decision, decisions[:-1])  # the same rows without the bad one
    assert Decision.objects.count() == rows - 1


@pytest.mark.parametrize("rows", [1, SMALL_BATCH + 5], ids=["one row", "COPY"])
def test_a_decision_of_a_missing_model_version_is_refused(champion, rows):
    stored = saved_transactions(rows)
    decisions = [decision_for(t.pk, champion.pk) for t in stored[:-1]] + [decision_for(stored[-1].pk, MISSING_ID)]
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk_insert(Decision, decisions)
    assert not Decision.objects.exists()


def test_a_decision_cannot_be_moved_to_a_missing_model_version(champion):
    decision = save_with_decision(build_transaction(1), champion)
    with pytest.raises(IntegrityError), transaction.atomic():
        Decision.objects.filter(pk=decision.pk).update(model_version_id=MISSING_ID)
    Decision.objects.filter(pk=decision.pk).update(explanation={"method": "shap"})  # other columns: as before
    assert Decision.objects.get(pk=decision.pk).model_version_id == champion.pk


def test_the_orm_still_cascades_a_transactions_delete_and_protects_a_used_model_version(champion):
    from django.db.models import ProtectedError

    decision = save_with_decision(build_transaction(1), champion)
    with pytest.raises(ProtectedError):
        champion.delete()
    decision.transaction.delete()
    assert not Decision.objects.exists()
    champion.delete()
    assert not ModelVersion.objects.exists()


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM scoring_transaction WHERE id = {txn}",
        "UPDATE scoring_transaction SET id = {missing} WHERE id = {txn}",
        "TRUNCATE scoring_transaction CASCADE",  # CASCADE: the tables with foreign keys to it
        "DELETE FROM scoring_modelversion WHERE id = {version}",
        "UPDATE scoring_modelversion SET id = {missing} WHERE id = {version}",
        "TRUNCATE scoring_modelversion CASCADE",
    ],
)
def test_a_referenced_transaction_or_model_version_cannot_be_removed_behind_the_orms_back(champion, statement):
    decision = save_with_decision(build_transaction(1), champion)
    sql = statement.format(txn=decision.pk, version=champion.pk, missing=MISSING_ID)
    with pytest.raises(IntegrityError, match="scoring_decision"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE refuses to run with checks pending
        cursor.execute(sql)
    assert Decision.objects.filter(pk=decision.pk, model_version=champion).exists()
    with transaction.atomic(), connection.cursor() as cursor:  # with the decisions gone too, it may
        cursor.execute("TRUNCATE scoring_decision, scoring_transaction CASCADE")
    assert not Transaction.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_transaction_being_referenced_by_an_uncommitted_decision_cannot_be_deleted_meanwhile(champion):
    """The trigger locks the referenced rows FOR KEY SHARE, as PostgreSQL's own foreign-key check does."""
    (txn,) = saved_transactions(1)
    inserted, finish = threading.Event(), threading.Event()
    failures = []

    def insert_and_hold():
        try:
            with transaction.atomic():
                bulk_insert(Decision, [decision_for(txn.pk, champion.pk)])
                inserted.set()
                finish.wait(30)
        except Exception as exc:  # reported below: the main thread asserts on it
            failures.append(exc)
        finally:
            inserted.set()
            connection.close()

    holder = thread_in_this_context(insert_and_hold)
    holder.start()
    try:
        assert inserted.wait(30)
        # Without the lock this delete would go through, and the decision would commit orphaned.
        with (
            pytest.raises(OperationalError, match="lock timeout"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("SET LOCAL lock_timeout = '300ms'")
            cursor.execute("DELETE FROM scoring_transaction WHERE id = %s", [txn.pk])
    finally:
        finish.set()
        holder.join(30)
    assert not failures
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM scoring_transaction WHERE id = %s", [txn.pk])
    assert Decision.objects.filter(pk=txn.pk).exists()
