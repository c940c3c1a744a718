"""Unsaved model instances built without Model.__init__: the ingest hot path makes 10,000 at a time.

Model.__init__ (field by field setattr, pre_init/post_init signals) measured ~45 µs per Transaction or
Decision, ~0.9 s for a 10,000-item batch's two sets; filling the instance's __dict__ costs ~3 µs.
Only for models without pre_init/post_init receivers of their own (Transaction, Decision).
"""

from functools import cache

from django.db.models import Model
from django.db.models.base import ModelState

from kernel.switches import device_off

_PLAIN = device_off("UNSAVED")  # FINOBS_NO_UNSAVED=1: model(**values), the related objects as keywords


@cache
def _fields(model: type[Model]) -> tuple[frozenset[str], tuple]:
    fields = model._meta.concrete_fields
    return frozenset(f.attname for f in fields), tuple(fields)


def unsaved(model: type[Model], values: dict, related: dict | None = None) -> Model:
    """An instance of `model` as `model(**values)` would make it, `values` keyed by attname.

    Fields missing from `values` get their default; `related` fills the cache of foreign keys whose
    `<name>_id` is in `values`, so `instance.<name>` needs no query.
    """
    if _PLAIN:
        if related:
            values = {k: v for k, v in values.items() if k not in {f"{name}_id" for name in related}} | related
        return model(**values)
    attnames, fields = _fields(model)
    obj = model.__new__(model)
    obj._state = ModelState()
    if len(values) < len(attnames):
        values = {**{f.attname: f.get_default() for f in fields if f.attname not in values}, **values}
    obj.__dict__.update(values)
    if related:
        obj._state.fields_cache.update(related)
    return obj
