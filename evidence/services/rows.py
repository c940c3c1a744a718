"""How transactions, decisions and audit events are written in bundles: one row shape for every bundle kind,
read as plain values (no model instances, no model version row along with every decision)."""

from django.db.models import F

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
_TRANSACTION_FIELDS = TRANSACTION_COLUMNS[:13]
_DECISION_FIELDS = ("score", "risk_level", "flagged", "rule_hits", "explanation", "arm", "created_at")
AUDIT_EVENT_FIELDS = ("id", "created_at", "actor", "action", "object_type", "object_id", "payload", "prev_hash", "hash")


def transaction_values(rows, prefix: str = "", **extra):
    """`rows` (a queryset of transactions, or of rows pointing at one through `prefix`) as dicts of the
    transaction's fields, its decision's (`decision_<field>`) and its model version's number."""
    fields = {f"tx_{name}": F(f"{prefix}{name}") for name in _TRANSACTION_FIELDS}
    fields |= {f"decision_{name}": F(f"{prefix}decision__{name}") for name in _DECISION_FIELDS}
    fields["decision_model_version"] = F(f"{prefix}decision__model_version__version")
    return rows.values(**fields, **extra)


def transaction_row(row: dict) -> list:
    has_decision = row["decision_score"] is not None
    return [
        *(row[f"tx_{name}"] for name in _TRANSACTION_FIELDS),
        repr(row["decision_score"]) if has_decision else "",
        row["decision_risk_level"] or "",
        ("true" if row["decision_flagged"] else "false") if has_decision else "",
        " ".join(hit.get("rule", "") for hit in row["decision_rule_hits"] or ()),
    ]


def decision_row(row: dict) -> dict:
    """A decision with its rule hits and SHAP contributions (the explanation as stored)."""
    return {
        "transaction_id": row["tx_id"],
        "external_id": row["tx_external_id"],
        "model_version": row["decision_model_version"],
        **{name: row[f"decision_{name}"] for name in _DECISION_FIELDS},
    }
