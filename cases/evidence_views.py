"""The case page's evidence: attachments (upload, list, verified download). Thin, as cases.views."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_POST

from cases import selectors
from cases.services.attachments import attachment_open, attachments_add, refuse_oversized
from cases.uploads import use_hashing_uploads
from cases.views import _case_or_404, view_required
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
