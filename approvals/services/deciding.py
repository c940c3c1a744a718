"""Asking for and deciding four-eyes requests: the one pair of services every kind goes through.

Both check permissions, write the request in its own transaction with the audit event and the outbox
event (`approval.requested`, `approval.approved`, `approval.rejected`, `approval.withdrawn`), and deciding
applies the kind's effect in the same transaction. The person who asked can never decide (the database
refuses it too); they may withdraw their own request.
"""

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from approvals.kinds import ApprovalKind, approval_kind_of
from approvals.models import ApprovalStatus, FourEyesRequest
from audit.services import audit_log
from kernel.errors import Conflict
from kernel.events import publish
from kernel.mfa import require_second_factor
from notifications.models import Kind as NotificationKind
from notifications.services import notification_send
from organisations.selectors import members


class FourEyesViolation(PermissionDenied):
    """The person who asked tried to decide their own request."""

    code = "four_eyes"


def approval_request(*, kind: ApprovalKind, actor: AbstractBaseUser, **fields) -> FourEyesRequest:
    """Ask for a request of `kind` (its fields given); another person decides it. Inside or outside a transaction.

    Raises PermissionDenied without `kind.request_permission`, Conflict when one is already pending for the
    same subject.
    """
    _require(actor, kind.request_permission)
    try:
        with transaction.atomic():
            request = kind.model.objects.create(requested_by=actor, requested_at=timezone.now(), **fields)
            _record(kind, request, "approval.requested", actor)
            _notify_deciders(kind, request, actor)
    except IntegrityError:
        raise Conflict(f"A {kind.label.lower()} is already pending for this.", code="approval_pending") from None
    return request


def check_decide(request: FourEyesRequest, *, actor, approve: bool, note: str) -> None:
    """The rules of deciding `request` as `actor` (PermissionDenied, Conflict, ValidationError)."""
    kind = approval_kind_of(request)
    require_second_factor(actor, action="Deciding a four-eyes request")
    if not request.is_pending:
        raise Conflict(f"This request was already {request.get_status_display().lower()}.", code="approval_decided")
    if request.requested_by_id == getattr(actor, "pk", None):
        if approve:
            raise FourEyesViolation("Four-eyes: you cannot approve your own request; another person decides it.")
        return  # withdrawing one's own request
    _require(actor, kind.decide_permission)
    if not approve and not note.strip():
        raise ValidationError({"note": "Say why the request is rejected."}, code="required")
    if kind.check_decider is not None:
        kind.check_decider(request, actor)


def approval_decide(
    *, approval: FourEyesRequest, actor: AbstractBaseUser, approve: bool, note: str = ""
) -> FourEyesRequest:
    """Approve or reject `approval` (a pending request), applying what the kind does, in one transaction.

    Rejecting needs a note. The requester may only withdraw (approve=False): the kind's rejection effect
    runs then too, so the subject goes back to where it was.
    """
    kind = approval_kind_of(approval)
    check_decide(approval, actor=actor, approve=approve, note=note)
    with transaction.atomic():
        if kind.lock_subject is not None:
            kind.lock_subject(approval)
        request = kind.model.objects.select_for_update().get(pk=approval.pk)
        check_decide(request, actor=actor, approve=approve, note=note)
        withdrawn = request.requested_by_id == actor.pk
        if withdrawn:
            request.status = ApprovalStatus.WITHDRAWN
        else:
            request.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
            request.decided_by = actor
        request.decided_at = timezone.now()
        request.decision_note = note.strip()
        request._history_user = actor
        request.save()
        _record(kind, request, f"approval.{request.status}", actor, note=request.decision_note)
        if approve:
            kind.on_approved(request, actor)
        elif kind.on_rejected is not None:
            kind.on_rejected(request, actor)
    return request


def approvals_supersede(*, requests, reason: str) -> int:
    """Close pending requests that can no longer be decided as asked (their subject changed under them)."""
    now = timezone.now()
    closed = 0
    for request in requests.filter(status=ApprovalStatus.PENDING):
        kind = approval_kind_of(request)
        request.status, request.decided_at, request.decision_note = ApprovalStatus.SUPERSEDED, now, reason
        request.save(update_fields=["status", "decided_at", "decision_note"])
        _record(kind, request, "approval.superseded", None, note=reason)
        closed += 1
    return closed


def _record(kind: ApprovalKind, request: FourEyesRequest, action: str, actor, **data) -> None:
    label, _url = kind.subject(request)
    payload = {"kind": kind.name, "request_id": request.pk, "subject": label, **data}
    if action != "approval.requested":
        payload["requested_by"] = request.requested_by.get_username()
    audit_log(actor=actor, action=action, object_type=kind.name, object_id=request.pk, payload=payload)
    publish(action, payload)


def deciders(kind: ApprovalKind, request: FourEyesRequest) -> list:
    """The active members who may decide `request`: the kind's permission, and they see the request."""
    app_label, codename = kind.decide_permission.split(".", 1)
    granted = Q(is_superuser=True) | Q(
        groups__permissions__codename=codename, groups__permissions__content_type__app_label=app_label
    )
    granted |= Q(user_permissions__codename=codename, user_permissions__content_type__app_label=app_label)
    people = members().filter(granted, is_active=True).exclude(pk=request.requested_by_id).distinct()
    return [
        person
        for person in people
        if person.has_perm(kind.decide_permission) and kind.visible_to(person).filter(pk=request.pk).exists()
    ]


def _notify_deciders(kind: ApprovalKind, request: FourEyesRequest, actor) -> None:
    label, url = kind.subject(request)
    notification_send(
        users=deciders(kind, request),
        kind=NotificationKind.APPROVAL,
        title=f"{kind.label} waits for your decision: {label}",
        body=f"{actor.get_username()} asks: {kind.summary(request)}"[:2000],
        url=url,
        actor=actor,
    )


def _require(actor, permission: str) -> None:
    if not (isinstance(actor, AbstractBaseUser) and actor.is_active and actor.has_perm(permission)):
        raise PermissionDenied(f"You need the {permission} permission for this.")
