"""The case page's evidence: attachments (upload, list, verified download), the closing checklist, and
feedback on single decisions; and the worklist's selection actions (bulk change, merge). Thin, as
cases.views."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from cases import selectors
from cases.models import Case, ChecklistItem, SuppressedAlert, Team
from cases.services.attachments import attachment_open, attachments_add, refuse_oversized
from cases.services.checklists import checklist_tick, checklists_for
from cases.services.merging import case_merge, cases_bulk_change
from cases.services.reviews import decision_review
from cases.services.suppressed_alerts import (
    suppressed_alert_dismiss,
    suppressed_alert_open_case,
    suppressed_alerts_visible_to,
)
from cases.services.suppression import suppression_rule
from cases.uploads import use_hashing_uploads
from cases.views import _back, _case_or_404, view_required
from kernel.errors import Conflict
from kernel.pages import run_service


@require_GET
@login_required
@view_required
def attachments(request, reference):
    """The attachments card of the case page (an htmx fragment, refreshed when the case changes)."""
    case = _case_or_404(request, reference)
    context = {
        "case": case,
        "attachments": selectors.attachments_of(case),
        "may_attach": request.user.has_perm("cases.add_attachment")
        and request.user.has_perm("cases.work_case")
        and case.is_open,
    }
    return render(request, "cases/_attachments.html", context)


@csrf_exempt  # checked by csrf_protect below, once the hashing upload handler is in place
@require_POST
@login_required
@view_required
def attachment_upload(request, reference):
    handler = use_hashing_uploads(request)
    return _attachment_upload(request, reference, handler)


@csrf_protect
def _attachment_upload(request, reference, handler):
    case = _case_or_404(request, reference)

    def attach():
        files = request.FILES.getlist("file")  # reads the body: the handler hashes (or stops) each file
        refuse_oversized(handler.refused)
        return attachments_add(case=case, files=files, actor=request.user, body=request.POST.get("body", ""))

    if run_service(request, attach):
        messages.success(request, "Attached.")
    return HttpResponseRedirect(reverse("cases:detail", args=[case.reference]) + "#attachments-h")


@require_GET
@login_required
@view_required
def attachment_download(request, reference, attachment_id):
    """The file, once its hash is re-verified, as a download that the browser never renders inline."""
    case = _case_or_404(request, reference)
    attachment = selectors.attachment_of(case, attachment_id)
    if attachment is None:
        raise Http404("No such attachment on this case.")
    try:
        verified = attachment_open(attachment=attachment, actor=request.user)
    except Conflict as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("cases:detail", args=[case.reference]) + "#attachments-h")
    return download_response(attachment, verified)


def download_response(attachment, verified) -> FileResponse:
    """A verified attachment as a download: never rendered inline, never sniffed, never cached."""
    response = FileResponse(
        verified,
        as_attachment=True,
        filename=attachment.original_name,
        content_type=attachment.sniffed_type or "application/octet-stream",
    )
    response["Content-Length"] = str(attachment.size_bytes)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Attachment-SHA256"] = attachment.sha256
    return response


@require_GET
@login_required
@view_required
def checklist(request, reference):
    """The closing checklists that apply to the case (an htmx fragment, refreshed when the case changes)."""
    case = _case_or_404(request, reference)
    context = {
        "case": case,
        "checklists": checklists_for(case),
        "may_tick": request.user.has_perm("cases.add_checklisttick")
        and request.user.has_perm("cases.work_case")
        and case.is_open
        and not case.is_frozen,
    }
    return render(request, "cases/_checklist.html", context)


@require_POST
@login_required
@view_required
def checklist_item_tick(request, reference, item_id):
    case = _case_or_404(request, reference)
    item = ChecklistItem.objects.select_related("checklist").filter(pk=item_id).first()
    if item is None:
        raise Http404("No such checklist item.")
    if run_service(request, checklist_tick, case=case, item=item, actor=request.user):
        messages.success(request, f"Ticked “{item.text}”.")
    return HttpResponseRedirect(reverse("cases:detail", args=[case.reference]) + "#checklist-h")


@require_POST
@login_required
@view_required
def decision_feedback(request, reference):
    """Mark one transaction's decision a false positive or confirm it, with a reason; the case stays open."""
    case = _case_or_404(request, reference)
    post = request.POST

    def review():
        try:
            transaction_id = int(post.get("transaction", ""))
        except ValueError:
            raise ValidationError({"transaction": "Choose a transaction of this case."}) from None
        return decision_review(
            case=case,
            transaction_id=transaction_id,
            verdict=post.get("verdict", ""),
            reason=post.get("reason", ""),
            actor=request.user,
        )

    if run_service(request, review):
        messages.success(request, "Feedback recorded; the transaction's label follows it.")
    return HttpResponseRedirect(reverse("cases:detail", args=[case.reference]))


@require_POST
@login_required
@view_required
def bulk_change(request):
    """The worklist's selection actions: transition, escalate, close as false positive, merge."""
    post = request.POST
    references = post.getlist("reference")
    cases = list(Case.objects.visible_to(request.user).filter(reference__in=references).order_by("pk"))
    action = post.get("bulk_action", "")
    reason = post.get("reason", "")
    if not cases:
        messages.error(request, "Select at least one case.")
        return _back(request, reverse("cases:worklist"))
    if action == "merge":
        survivor = selectors.case_for(request.user, post.get("into", "").strip())

        def merge():
            if survivor is None:
                raise ValidationError({"into": "Name the case to merge into (one you can see)."})
            return case_merge(
                survivor=survivor,
                duplicates=[c for c in cases if c.pk != survivor.pk],
                reason=reason,
                actor=request.user,
            )

        if run_service(request, merge):
            messages.success(request, f"Merged {len(cases) - (survivor in cases)} case(s) into {survivor.reference}.")
        return _back(request, reverse("cases:worklist"))
    results = {}

    def change():
        results.update(
            cases_bulk_change(
                cases=cases,
                action=action,
                reason=reason,
                actor=request.user,
                status=post.get("status", ""),
                team=Team.objects.filter(slug=post.get("team", "")).first(),
            )
        )

    if run_service(request, change):
        parts = [f"{n} {what}" for what, n in results.items() if n]
        messages.success(
            request,
            "Done: " + ", ".join(parts) + (" (closures await approval)" if results.get("proposed") else "") + ".",
        )
    return _back(request, reverse("cases:worklist"))


@require_GET
@login_required
@view_required
def suppressed_alerts(request):
    """The lightweight review of flagged transactions held back by duplicate suppression."""
    visible = suppressed_alerts_visible_to(request.user).select_related(
        "previous_case", "transaction", "reviewed_by", "opened_case"
    )
    context = {
        "pending": list(visible.filter(status=SuppressedAlert.Status.PENDING).order_by("-created_at", "-id")[:200]),
        "reviewed": list(visible.exclude(status=SuppressedAlert.Status.PENDING).order_by("-reviewed_at", "-id")[:50]),
        "rule": suppression_rule(),
        "may_review": request.user.has_perm("cases.review_suppressed") and request.user.has_perm("cases.work_case"),
    }
    return render(request, "cases/suppressed.html", context)


@require_POST
@login_required
@view_required
def suppressed_alert_review(request, alert_id, review):
    alert = suppressed_alerts_visible_to(request.user).select_related("previous_case").filter(pk=alert_id).first()
    if alert is None:
        raise Http404("No such alert.")
    note = request.POST.get("note", "")
    if review == "dismiss":
        if run_service(request, suppressed_alert_dismiss, alert=alert, note=note, actor=request.user):
            messages.success(request, f"Dismissed: {alert.account_id}'s transaction is labelled legitimate.")
    else:
        opened = []

        def open_case():
            opened.append(suppressed_alert_open_case(alert=alert, note=note, actor=request.user))

        if run_service(request, open_case):
            return HttpResponseRedirect(reverse("cases:detail", args=[opened[0].reference]))
    return HttpResponseRedirect(reverse("cases:suppressed"))
