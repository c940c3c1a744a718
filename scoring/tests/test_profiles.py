"""Account profiles: every stored transaction adds to its account's aggregates and value counts."""

import math
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from scoring.history import amount_band, band_value
from scoring.models import AccountProfile, AccountValueCount, CounterpartySender, Transaction
from scoring.profiles import profiles_record

pytestmark = pytest.mark.django_db

# Array-literal syntax in identifiers must arrive as text: quotes, backslashes, commas, braces, NULL, spaces.
AWKWARD = ['acc "quoted"', "acc\\back,slash", "{acc}", "NULL", " spaced "]


def _transaction(account: str, merchant: str, amount: str, hour: int) -> Transaction:
    return Transaction(
        source="bank",
        external_id=f"{account}-{merchant}-{hour}",
        account_id=account,
        amount=Decimal(amount),
        currency="EUR",
        occurred_at=datetime(2026, 11, 20, hour, tzinfo=UTC),
        merchant_id=merchant,
        country="de",
    )


def test_profiles_and_counts_add_up_for_any_account_and_merchant_text():
    batch = [_transaction(account, f"m {account}", "10.50", 9) for account in AWKWARD]
    batch.append(_transaction(AWKWARD[0], "", "-3", 21))  # a refund without a merchant
    profiles_record(batch)
    profiles_record(batch[:1])  # the same account again: increments, not replacements
    profiles = {p.account_id: p for p in AccountProfile.objects.all()}
    assert set(profiles) == set(AWKWARD)
    first = profiles[AWKWARD[0]]
    assert first.n == 3
    assert first.sum_log_amount == pytest.approx(2 * math.log1p(10.5) + math.log1p(3))
    assert first.last_epoch_s == datetime(2026, 11, 20, 21, tzinfo=UTC).timestamp()
    assert profiles[AWKWARD[1]].n == 1
    counts = {(c.account_id, c.kind, c.value): c.n for c in AccountValueCount.objects.all()}
    assert counts[(AWKWARD[0], "c", "DE")] == 3
    assert counts[(AWKWARD[0], "m", f"m {AWKWARD[0]}")] == 2
    assert counts[(AWKWARD[1], "m", f"m {AWKWARD[1]}")] == 1
    assert (AWKWARD[0], "m", "") not in counts
    assert counts[(AWKWARD[0], "k", "")] == 3  # per merchant category (blank here), with its log-amounts
    # Per category, an amount band per payment: 10.50 euros twice and 3 euros once for the first account.
    assert counts[(AWKWARD[0], "b", band_value("", int(amount_band(np.log1p([10.5]))[0])))] == 2
    assert counts[(AWKWARD[0], "b", band_value("", int(amount_band(np.log1p([3.0]))[0])))] == 1
    assert len(counts) == 4 * len(AWKWARD) + 1
    category = AccountValueCount.objects.get(account_id=AWKWARD[0], kind="k")
    assert category.sum_log_amount == pytest.approx(2 * math.log1p(10.5) + math.log1p(3))
    assert first.max_log_amount == pytest.approx(math.log1p(10.5))
    senders = {(s.merchant_id, s.account_id): s for s in CounterpartySender.objects.all()}
    assert len(senders) == len(AWKWARD)  # the refund had no counterparty
    sender = senders[(f"m {AWKWARD[0]}", AWKWARD[0])]
    assert sender.n == 2
    assert sender.first_epoch_s == sender.last_epoch_s == datetime(2026, 11, 20, 9, tzinfo=UTC).timestamp()


@pytest.mark.postgres
def test_the_profile_tables_leave_room_on_each_page_for_hot_updates():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class WHERE relname = ANY(%s)",
            [[AccountProfile._meta.db_table, AccountValueCount._meta.db_table]],
        )
        options = dict(cursor.fetchall())
    assert options == {
        AccountProfile._meta.db_table: ["fillfactor=70"],
        AccountValueCount._meta.db_table: ["fillfactor=70"],
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = %s", [CounterpartySender._meta.db_table])
        assert cursor.fetchone()[0] == ["fillfactor=70"]


@pytest.mark.django_db
def test_a_rebuild_recomputes_every_aggregate_from_the_stored_transactions():
    from organisations.models import Organisation
    from scoring.generator import generate, records_to_transactions
    from scoring.profiles import profiles_rebuild
    from scoring.tests.builders import store_history

    store_history(records_to_transactions(generate(n_accounts=30, days=5, seed=8).records, source="tests"))
    tables = (AccountProfile, AccountValueCount, CounterpartySender)
    recorded = [sorted(model.objects.values_list(*_compared(model))) for model in tables]
    AccountProfile.objects.update(n=0, max_log_amount=0.0)
    CounterpartySender.objects.all().delete()
    assert profiles_rebuild(organisation=Organisation.objects.get()) == 30
    rebuilt = [sorted(model.objects.values_list(*_compared(model))) for model in tables]
    assert rebuilt == recorded


def _compared(model) -> list[str]:
    return {
        AccountProfile: ["account_id", "n", "max_log_amount", "last_epoch_s"],
        AccountValueCount: ["account_id", "kind", "value", "n"],
        CounterpartySender: ["merchant_id", "account_id", "n", "first_epoch_s", "last_epoch_s"],
    }[model]
