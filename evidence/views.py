"""Export pages: the case page's Export button, the exports list with audit trail and transaction export forms,
an export's progress and its download. Thin: the services check permission and the second factor."""

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases.models import Case
from cases.selectors import case_for
from evidence import keys, selectors, services
from evidence.models import ExportRecord
from kernel.pages import run_service

LOCAL_TIME = {"type": "datetime-local"}


class AuditExportForm(forms.Form):
    since = forms.DateTimeField(label="From", widget=forms.DateTimeInput(attrs=LOCAL_TIME))
    until = forms.DateTimeField(label="To", widget=forms.DateTimeInput(attrs=LOCAL_TIME))

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            raise forms.ValidationError("The end of the range comes after its start.")
        return data


class TransactionExportForm(forms.Form):
    account_id = forms.CharField(label="Account", required=False, max_length=128)
    since = forms.DateTimeField(label="From", required=False, widget=forms.DateTimeInput(attrs=LOCAL_TIME))
    until = forms.DateTimeField(label="To", required=False, widget=forms.DateTimeInput(attrs=LOCAL_TIME))
    flagged = forms.NullBooleanField(
        label="Flagged",
        required=False,
        widget=forms.Select(choices=[("unknown", "any"), ("true", "flagged only"), ("false", "not flagged")]),
    )


@require_POST
@login_required
def case_export(request, reference):
    case = case_for(request.user, reference, queryset=Case.objects.visible_to(request.user))
    if case is None:
        raise Http404("No case with this reference.")
    record = []
    sar = request.POST.get("sar") == "1"
    if not run_service(request, lambda: record.append(services.case_export(case=case, sar=sar, actor=request.user))):
        return HttpResponseRedirect(reverse("cases:detail", args=[case.reference]))
    return HttpResponseRedirect(reverse("evidence:export", args=[record[0].pk]))


@require_http_methods(["GET", "POST"])
@login_required
def exports(request):
    may_export_audit = request.user.has_perm("audit.export_audit")
    audit_form = AuditExportForm(request.POST if request.POST.get("kind") == "audit" else None, prefix="audit")
    transaction_form = TransactionExportForm(
        request.POST if request.POST.get("kind") == "transactions" else None, prefix="tx"
    )
    if request.method == "POST":
        if not may_export_audit:
            raise PermissionDenied
        record = []
        if audit_form.is_bound and audit_form.is_valid():
            data = audit_form.cleaned_data
            call = lambda: record.append(  # noqa: E731
                services.audit_export(since=data["since"], until=data["until"], actor=request.user)
            )
        elif transaction_form.is_bound and transaction_form.is_valid():
            data = transaction_form.cleaned_data
            call = lambda: record.append(  # noqa: E731
                services.transactions_export(
                    account_id=data["account_id"],
                    since=data["since"],
                    until=data["until"],
                    flagged=data["flagged"],
                    actor=request.user,
                )
            )
        else:
            call = None
        if call is not None and run_service(request, call):
            return HttpResponseRedirect(reverse("evidence:export", args=[record[0].pk]))
    context = {
        "records": selectors.exports_visible_to(request.user)[:100],
        "may_export_audit": may_export_audit,
        "audit_form": audit_form,
        "transaction_form": transaction_form,
        "keys": keys.public_keys(),
    }
    return render(request, "evidence/exports.html", context)


@require_GET
@login_required
def export_detail(request, pk):
    record = _record(request, pk)
    template = "evidence/_export_progress.html" if request.GET.get("fragment") == "progress" else "evidence/export.html"
    return render(request, template, {"record": record})


@require_GET
@login_required
def export_download(request, pk):
    record = _record(request, pk)
    path = services.export_file(record)
    if path is None:
        raise Http404("This export has no bundle to download.")
    services.export_downloaded(record=record, actor=request.user)
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name, content_type="application/zip")


def _record(request, pk: int) -> ExportRecord:
    record = selectors.exports_visible_to(request.user).filter(pk=pk).first()
    if record is None:
        raise Http404("No export with this id.")
    return record
