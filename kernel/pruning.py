"""Deleting or rewriting old rows in batches: short statements, each committed on its own, so pruning a
large table never holds its locks (or a long transaction) for more than one batch."""

from django.conf import settings
from django.db import transaction


def delete_in_batches(queryset, *, batch: int | None = None) -> int:
    """Delete the rows of `queryset`, `batch` primary keys per statement (PRUNE_BATCH_ROWS), oldest key
    first, with their cascaded children in the same transaction. Returns how many rows of the queryset's
    model went."""
    batch = batch or settings.PRUNE_BATCH_ROWS
    model = queryset.model
    deleted = 0
    while ids := list(queryset.order_by("pk").values_list("pk", flat=True)[:batch]):
        with transaction.atomic():
            deleted += model._base_manager.filter(pk__in=ids).delete()[1].get(model._meta.label, 0)
        if len(ids) < batch:
            break
    return deleted


def update_in_batches(queryset, *, batch: int | None = None, **values) -> int:
    """UPDATE the rows of `queryset` with `values`, `batch` primary keys per statement. The queryset must
    stop matching a row once it is updated (or this never ends)."""
    batch = batch or settings.PRUNE_BATCH_ROWS
    model = queryset.model
    updated = 0
    while ids := list(queryset.order_by("pk").values_list("pk", flat=True)[:batch]):
        with transaction.atomic():
            updated += model._base_manager.filter(pk__in=ids).update(**values)
        if len(ids) < batch:
            break
    return updated
