"""ingestion's pages: CSV upload with a live progress bar. Thin: services write, every read is scoped."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from ingestion import selectors
from ingestion.services import UploadRefused, upload_create
from ingestion.services.uploads import COLUMNS, REQUIRED_COLUMNS, check_size

upload_required = permission_required("ingestion.add_uploadjob", raise_exception=True)


class UploadForm(forms.Form):
    file = forms.FileField(label="CSV file")
    source = forms.SlugField(
        max_length=64,
        required=False,
        initial=settings.UPLOAD_DEFAULT_SOURCE,
        help_text="Duplicates are detected per source: re-uploading the same file changes nothing.",
    )

    def clean_source(self) -> str:
        return self.cleaned_data["source"] or settings.UPLOAD_DEFAULT_SOURCE


@require_http_methods(["GET", "POST"])
@login_required
@upload_required
def uploads(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            check_size(upload.size)  # before reading it into memory
            job = upload_create(
                organisation=request.organisation,
                uploaded_by=request.user,
                name=upload.name,
                data=upload.read(),
                source=form.cleaned_data["source"],
            )
        except UploadRefused as exc:
            form.add_error("file", str(exc))
        else:
            messages.success(request, f"{job.original_name}: {job.total_rows} rows queued.")
            return HttpResponseRedirect(reverse("ingestion:upload", args=[job.pk]))
    context = {
        "form": form,
        "jobs": selectors.uploads_for(request.user),
        "columns": COLUMNS,
        "required_columns": REQUIRED_COLUMNS,
        "max_mb": settings.UPLOAD_MAX_BYTES / 1024 / 1024,
        "sees_all": request.user.has_perm("ingestion.view_all_uploads"),
    }
    return render(request, "ingestion/uploads.html", context, status=400 if form.errors else 200)


@require_GET
@login_required
@upload_required
def upload_detail(request, job_id: int):
    job = selectors.upload_for(request.user, job_id)
    if job is None:
        raise Http404("No upload with this id.")
    if request.GET.get("fragment") == "progress":
        return render(request, "ingestion/_upload_progress.html", {"job": job})
    return render(request, "ingestion/upload_detail.html", {"job": job})
