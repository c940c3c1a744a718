"""How transactions, decisions and audit events are written in bundles: one row shape for every bundle kind."""

from scoring.models import Decision, Transaction

TRANSACTION_COLUMNS = [
    "id",
    "source",
    "external_id",
    "account_id",
    "amount",
    "currency",
    "occurred_at",
    "merchant_id",
    "merchant_category",
    "country",
    "channel",
    "received_at",
    "label",
    "score",
    "risk_level",
    "flagged",
    "rules_hit",
]
AUDIT_EVENT_FIELDS = ("id", "created_at", "actor", "action", "object_type", "object_id", "payload", "prev_hash", "hash")


def transaction_row(txn: Transaction) -> list:
    decision: Decision | None = getattr(txn, "decision", None)
    return [
        txn.pk,
        txn.source,
        txn.external_id,
        txn.account_id,
        txn.amount,
        txn.currency,
        txn.occurred_at,
        txn.merchant_id,
        txn.merchant_category,
        txn.country,
        txn.channel,
        txn.received_at,
        txn.label,
        repr(decision.score) if decision else "",
        decision.risk_level if decision else "",
        ("true" if decision.flagged else "false") if decision else "",
        " ".join(hit.get("rule", "") for hit in decision.rule_hits) if decision else "",
    ]


def decision_row(txn: Transaction, decision: Decision) -> dict:
    """A decision with its rule hits and SHAP contributions (the explanation as stored)."""
    return {
        "transaction_id": txn.pk,
        "external_id": txn.external_id,
        "model_version": decision.model_version.version if decision.model_version_id else None,
        "score": decision.score,
        "risk_level": decision.risk_level,
        "flagged": decision.flagged,
        "rule_hits": decision.rule_hits,
        "explanation": decision.explanation,
        "arm": decision.arm,
        "created_at": decision.created_at,
    }
