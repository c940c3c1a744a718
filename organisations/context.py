"""The current organisation: the one place that says whose data the running code reads and writes.

The web middleware, the Channels middleware, API authentication and the Celery task hook set it; every
organisation-owned model's default manager filters by it, and new rows default to it. Three states:

- an organisation: queries see that organisation's rows only, new rows belong to it;
- nobody (a signed-in person outside every organisation, such as platform staff not in support):
  queries see no business row at all;
- unset: system work that spans organisations (the outbox relay, periodic sweeps, migrations,
  management commands) sees every row and must name the organisation of anything it writes.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from organisations.models import Organisation


class _Nobody:
    """The context of a person who belongs to no organisation: every scoped query is empty."""

    id = None
    pk = None
    slug = ""

    def __repr__(self) -> str:
        return "<nobody>"


NOBODY: Final = _Nobody()
_current: ContextVar["Organisation | _Nobody | None"] = ContextVar("finobs_organisation", default=None)


class NoOrganisationError(RuntimeError):
    """A row of an organisation was written with no organisation named or active."""


def current_organisation() -> "Organisation | None":
    """The active organisation, or None (unset or nobody)."""
    current = _current.get()
    return None if current is None or current is NOBODY else current


def current_organisation_id() -> int | None:
    """The active organisation's id: the default of every organisation foreign key. None when no
    organisation is active, and the database then refuses the row (the column is NOT NULL): code that
    writes outside an organisation's context names the organisation itself."""
    current = _current.get()
    return None if current is None or current is NOBODY else current.pk


def id_of(organisation) -> int:
    """The id of `organisation`, given the organisation or its id (services accept either)."""
    return organisation if isinstance(organisation, int) else organisation.pk


def require_organisation_id() -> int:
    """The active organisation's id, for code that cannot run outside one."""
    organisation_id = current_organisation_id()
    if organisation_id is None:
        raise NoOrganisationError("No organisation is active: name the organisation to act in.")
    return organisation_id


def scope():
    """What the default managers filter by: an organisation, NOBODY, or None (unset: no filter)."""
    return _current.get()


def activate(organisation: "Organisation | _Nobody | None"):
    """Set the current organisation; returns the token `deactivate` takes to restore the previous one."""
    return _current.set(organisation)


def deactivate(token) -> None:
    _current.reset(token)


@contextmanager
def organisation_context(organisation: "Organisation | _Nobody | None") -> Iterator[None]:
    """Run a block as `organisation` (None: unset, every organisation's rows, as system work)."""
    token = _current.set(organisation)
    try:
        yield
    finally:
        _current.reset(token)


def system_context():
    """Run a block across organisations (periodic sweeps, the relay): the caller names each row's owner."""
    return organisation_context(None)


def for_each_organisation(work: Callable[["Organisation"], object]) -> list[object]:
    """Run `work(organisation)` inside each active organisation's context, one after another."""
    from organisations.models import Organisation

    results = []
    with system_context():
        organisations = list(Organisation.objects.filter(is_active=True).order_by("pk"))
    for organisation in organisations:
        with organisation_context(organisation):
            results.append(work(organisation))
    return results
