"""The kinds of four-eyes request: each app registers what its kind is about and what deciding it does."""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet

from approvals.models import FourEyesRequest


@dataclass(frozen=True)
class ApprovalKind:
    """One kind of request (a concrete FourEyesRequest model) and the rules and effects of deciding it.

    The effects run inside the deciding transaction, with the request's row locked (and the subject's, by
    `lock_subject`, first), so a decision and what it does commit together or not at all.
    """

    model: type[FourEyesRequest]
    name: str  # in URLs, audit events and outbox events: "case_closure"
    label: str  # for people: "Case closure"
    request_permission: str  # who may ask
    decide_permission: str  # who may decide (never the person who asked)
    visible_to: Callable[..., QuerySet]  # (user) -> the requests of this kind the user may see
    subject: Callable[[FourEyesRequest], tuple[str, str]]  # (label, url) of what the request is about
    summary: Callable[[FourEyesRequest], str]  # one line: what is asked, and why
    on_approved: Callable[..., None]  # (request, actor): apply it
    on_rejected: Callable[..., None] | None = None  # (request, actor): undo what asking did (also on withdrawal)
    lock_subject: Callable[[FourEyesRequest], None] | None = None  # take the subject's row lock first
    check_decider: Callable[..., None] | None = None  # (request, actor): a rule of this kind beyond the permission


_kinds: dict[str, ApprovalKind] = {}


def approval_kind_register(kind: ApprovalKind) -> None:
    """Called from the app's AppConfig.ready() (idempotent)."""
    _kinds[kind.name] = kind


def approval_kinds() -> list[ApprovalKind]:
    return list(_kinds.values())


def approval_kind(name: str) -> ApprovalKind:
    """The registered kind called `name`; raises LookupError."""
    try:
        return _kinds[name]
    except KeyError:
        raise LookupError(f"No kind of approval is called {name!r}.") from None


def approval_kind_of(request: FourEyesRequest) -> ApprovalKind:
    for kind in _kinds.values():
        if isinstance(request, kind.model):
            return kind
    raise LookupError(f"{type(request).__name__} is not a registered kind of approval.")
