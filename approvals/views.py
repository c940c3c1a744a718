"""The approvals page: every kind of four-eyes request the signed-in user may see, and deciding them."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from approvals import selectors
from approvals.kinds import approval_kind, approval_kinds
from approvals.models import ApprovalStatus
from approvals.services import approval_decide
from kernel.pages import run_service


def _may_see_approvals(user) -> bool:
    return any(
        user.has_perm(kind.decide_permission) or user.has_perm(kind.request_permission) for kind in approval_kinds()
    )


@require_GET
@login_required
def queue(request):
    if not _may_see_approvals(request.user):
        raise PermissionDenied
    show = request.GET.get("status", ApprovalStatus.PENDING)
    if show not in ApprovalStatus.values:
        show = ApprovalStatus.PENDING
    context = {
        "rows": selectors.approvals_queue(request.user, status=show),
        "show": show,
        "statuses": ApprovalStatus.choices,
    }
    return render(request, "approvals/queue.html", context)


@require_POST
@login_required
def decide(request, kind_name: str, request_id: int, decision: str):
    try:
        kind = approval_kind(kind_name)
    except LookupError:
        raise Http404("No such kind of approval.") from None
    pending = selectors.approval_for(request.user, kind=kind, request_id=request_id)
    if pending is None:
        raise Http404("No such request.")
    approve = decision == "approve"
    note = request.POST.get("note", "")
    if run_service(request, approval_decide, approval=pending, actor=request.user, approve=approve, note=note):
        subject, _url = kind.subject(pending)
        verb = "approved" if approve else ("withdrawn" if pending.requested_by_id == request.user.pk else "rejected")
        messages.success(request, f"{kind.label} of {subject} {verb}.")
    return _back(request, reverse("approvals:queue"))


def _back(request, default: str):
    target = request.POST.get("next") or default
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = default
    return HttpResponseRedirect(target)
