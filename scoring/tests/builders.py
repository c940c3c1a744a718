"""Small builders for scoring tests: transactions in the public JSON shape, unsaved or saved."""

from django.utils import timezone

from scoring.generator import records_to_transactions
from scoring.models import Decision, ModelVersion, Transaction


def record(n: int = 1, **overrides) -> dict:
    """An everyday card payment as an integrator sends it."""
    return {
        "external_id": f"t-{n}",
        "account_id": "acc-1",
        "amount": "42.50",
        "currency": "EUR",
        "timestamp": "2026-11-18T14:00:00Z",  # a Wednesday
        "merchant_id": "m-1",
        "merchant_category": "5411",
        "country": "DE",
        "channel": "card_present",
        "metadata": {},
        **overrides,
    }


def transaction(n: int = 1, **overrides) -> Transaction:
    """An unsaved Transaction built from `record(n, **overrides)`."""
    return records_to_transactions([record(n, **overrides)], source="tests")[0]


def save_with_decision(txn: Transaction, model_version: ModelVersion, *, score: float = 0.5) -> Decision:
    txn.save()
    return Decision.objects.create(
        transaction=txn,
        model_version=model_version,
        score=score,
        risk_level="LOW",
        flagged=False,
        latency_ms=0.1,
        created_at=timezone.now(),
    )


def copy_model_version(model_version: ModelVersion, **overrides) -> ModelVersion:
    """A registry entry that serves the same artifact under a new version number (no training needed)."""
    fields = {
        f.attname: getattr(model_version, f.attname)
        for f in ModelVersion._meta.concrete_fields
        if f.attname
        not in {"id", "organisation_id", "version", "status", "created_at", "promoted_at", "promoted_by_id"}
    }
    latest = ModelVersion.objects.order_by("-version").values_list("version", flat=True).first() or 0
    return ModelVersion.objects.create(**{**fields, "version": latest + 1, **overrides})


def store_history(transactions: list[Transaction]) -> list[Transaction]:
    """Store transactions as the ingest pipeline does for scoring's purposes: rows plus account profiles."""
    from scoring.profiles import profiles_record

    Transaction.objects.bulk_create(transactions)
    profiles_record(transactions)
    return transactions
