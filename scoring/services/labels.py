"""Ground-truth labels written back from case outcomes (cases calls record_labels)."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from audit.services import audit_log
from scoring.models import Label, Transaction

LABEL_UPDATE_CHUNK = 5_000


def record_labels(*, transaction_ids: Sequence[int], label: str, actor: AbstractBaseUser | str | None = None) -> int:
    """Set the ground-truth label (from a case outcome) on transactions; returns how many were updated."""
    if label not in Label.values:
        raise ValidationError(
            {"label": f"Unknown label {label!r}; expected one of {', '.join(Label.values)}."}, code="invalid"
        )
    try:
        ids = sorted({int(i) for i in transaction_ids})
    except (TypeError, ValueError) as exc:
        raise ValidationError({"transaction_ids": "Transaction ids must be integers."}, code="invalid") from exc
    if not ids:
        return 0
    with transaction.atomic():
        updated = sum(
            Transaction.objects.filter(pk__in=ids[i : i + LABEL_UPDATE_CHUNK]).update(label=label)
            for i in range(0, len(ids), LABEL_UPDATE_CHUNK)
        )
        audit_log(
            actor=actor,
            action="transaction.labelled",
            object_type="scoring.Transaction",
            object_id=ids[0] if len(ids) == 1 else "",
            payload={"label": label, "transaction_ids": ids, "updated": updated},
        )
    return updated
