"""Reads of four-eyes requests across every registered kind."""

from dataclasses import dataclass

from approvals.kinds import ApprovalKind, approval_kinds
from approvals.models import ApprovalStatus, FourEyesRequest


@dataclass(frozen=True)
class QueueRow:
    kind: ApprovalKind
    request: FourEyesRequest
    subject: str
    subject_url: str
    summary: str
    may_decide: bool  # the user holds the kind's permission and is not the requester


def approvals_queue(user, *, status: str = ApprovalStatus.PENDING, limit: int = 200) -> list[QueueRow]:
    """The requests of every kind that `user` may see, in `status`: oldest pending first, newest decided first.

    A kind whose decide permission the user lacks is listed only to show what waits (may_decide is False).
    """
    pending = status == ApprovalStatus.PENDING
    rows = []
    for kind in approval_kinds():
        requests = (
            kind.visible_to(user)
            .filter(status=status)
            .select_related("requested_by", "decided_by")
            .order_by("requested_at" if pending else "-decided_at")[:limit]
        )
        may_decide = user.has_perm(kind.decide_permission)
        for request in requests:
            subject, url = kind.subject(request)
            rows.append(
                QueueRow(
                    kind=kind,
                    request=request,
                    subject=subject,
                    subject_url=url,
                    summary=kind.summary(request),
                    may_decide=may_decide and request.requested_by_id != user.pk,
                )
            )
    rows.sort(key=lambda row: row.request.requested_at if pending else row.request.decided_at, reverse=not pending)
    return rows[:limit]


def approval_for(user, *, kind: ApprovalKind, request_id: int) -> FourEyesRequest | None:
    """The request of `kind` with this id if `user` may see it, else None."""
    return kind.visible_to(user).filter(pk=request_id).select_related("requested_by").first()


def pending_count(user) -> int:
    """Requests waiting for `user`'s decision: visible, pending, of a kind they may decide, not their own."""
    return sum(
        kind.visible_to(user).filter(status=ApprovalStatus.PENDING).exclude(requested_by=user).count()
        for kind in approval_kinds()
        if user.has_perm(kind.decide_permission)
    )
