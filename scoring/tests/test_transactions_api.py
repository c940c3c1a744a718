"""GET /api/v1/transactions/{id}/ and its explanation; flagged decisions are explained after the ingest."""

import json

import pytest
from django.test import Client

from apikeys.services import api_key_create
from conftest import default_organisation, suspicious_record, transaction_record
from scoring.models import Decision, Transaction


def ingest(raw_key, records):
    return Client().post(
        "/api/v1/transactions/ingest", data=json.dumps(records), content_type="application/json",
        HTTP_X_WEBHOOK_KEY=raw_key,
    )  # fmt: skip


def get(path, raw_key=None, user=None):
    client = Client()
    if user is not None:
        client.force_login(user)
    headers = {"HTTP_X_WEBHOOK_KEY": raw_key} if raw_key else {}
    return client.get(path, **headers)


@pytest.mark.django_db(transaction=True)
def test_flagged_decisions_carry_their_explanation_once_the_ingest_returns(champion, api_key, celery_worker_if_queued):
    _, raw = api_key
    response = ingest(raw, [transaction_record(1), suspicious_record(2)])
    assert response.status_code == 200
    flagged = Decision.objects.get(transaction__external_id="tx-2")
    everyday = Decision.objects.get(transaction__external_id="tx-1")
    assert flagged.flagged and flagged.risk_level in ("HIGH", "CRITICAL")
    assert not everyday.flagged and everyday.explanation is None
    if celery_worker_if_queued is not None:  # a real worker: wait for the task
        import time

        for _ in range(100):
            flagged.refresh_from_db()
            if flagged.explanation:
                break
            time.sleep(0.1)
    flagged.refresh_from_db()
    contributions = flagged.explanation["contributions"]
    assert 1 <= len(contributions) <= 6
    sizes = [abs(c["contribution"]) for c in contributions]
    assert sizes == sorted(sizes, reverse=True)
    assert set(contributions[0]) == {"feature", "label", "value", "contribution", "text"}
    assert any(c["contribution"] > 0 for c in contributions)


@pytest.mark.django_db
def test_detail_and_on_demand_explanation_scoped_to_the_key_source(champion, api_key, make_user):
    _, raw = api_key
    ingest(raw, [transaction_record(1)])
    txn = Transaction.objects.get(external_id="tx-1")

    detail = get(f"/api/v1/transactions/{txn.pk}/", raw)
    assert detail.status_code == 200
    body = detail.json()
    assert body["external_id"] == "tx-1" and body["decision"]["risk_level"] == "LOW"
    assert body["decision"]["model_version"] == champion.version and body["has_explanation"] is False

    explanation = get(f"/api/v1/transactions/{txn.pk}/explanation", raw)
    assert explanation.status_code == 200
    assert explanation.json()["contributions"][0]["text"]
    assert Decision.objects.get(pk=txn.pk).explanation is not None  # stored

    _, other = api_key_create(organisation=default_organisation(), name="other", source="other-bank", scopes=["read"])
    assert get(f"/api/v1/transactions/{txn.pk}/", other).status_code == 404
    assert get(f"/api/v1/transactions/{txn.pk}/explanation", other).status_code == 404
    assert get(f"/api/v1/transactions/{txn.pk}/explanation", user=make_user("viewer")).status_code == 403
    assert get(f"/api/v1/transactions/{txn.pk}/explanation", user=make_user("analyst")).status_code == 200
    assert get("/api/v1/transactions/999999/", raw).status_code == 404


@pytest.mark.django_db
def test_scoring_queries_do_not_grow_with_the_batch(champion, django_assert_num_queries):
    from scoring.generator import generate, records_to_transactions
    from scoring.services import batch_score

    transactions = records_to_transactions(generate(n_accounts=100, days=20, seed=5).records, source="tests")
    assert len(transactions) > 1500
    from scoring.tests.builders import store_history

    store_history(transactions[:500])
    batch_score(transactions=transactions[500:502])  # the champion is loaded once per process
    # champion key, experiment, rules, 5 history queries (accounts: 3, counterparties: 2)
    with django_assert_num_queries(8):
        batch_score(transactions=transactions[500:505])
    with django_assert_num_queries(8):
        batch_score(transactions=transactions[500:1500])


@pytest.mark.django_db
def test_each_ingest_adds_to_the_account_profiles(champion, api_key):
    from scoring.models import AccountProfile, AccountValueCount

    _, raw = api_key
    ingest(raw, [transaction_record(1, account_id="acc-p"), transaction_record(2, account_id="acc-p")])
    ingest(raw, [transaction_record(3, account_id="acc-p", country="FR")])
    profile = AccountProfile.objects.get(account_id="acc-p")
    assert profile.n == 3
    counts = dict(AccountValueCount.objects.filter(account_id="acc-p", kind="c").values_list("value", "n"))
    assert counts == {"DE": 2, "FR": 1}
