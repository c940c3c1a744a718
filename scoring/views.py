"""Retraining pages: the dashboard's Retrain button, and the run's page, whose progress bar follows the training
live and links to the candidate when it is registered. Thin: the services queue and run the training."""

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from kernel.pages import rate_limited
from scoring.models import ModelVersion, RetrainRun
from scoring.services.monitoring import model_retrain_request


@require_POST
@login_required
@permission_required("scoring.retrain_model", raise_exception=True)
@rate_limited("retrain")  # each request trains a model: the same budget per person as the API's
def retrain(request):
    run = model_retrain_request(actor=request.user, reason="requested from the dashboard")
    return HttpResponseRedirect(reverse("scoring:retrain-run", args=[run.pk]))


@require_GET
@login_required
def retrain_run(request, pk):
    if not request.user.has_perm("scoring.view_modelversion"):
        raise PermissionDenied
    run = (
        RetrainRun.objects.select_related("model_version", "requested_by")
        .defer(*ModelVersion.heavy_fields("model_version"))
        .filter(pk=pk)
        .first()
    )
    if run is None:
        raise Http404("No retraining with this id.")
    fragment = request.GET.get("fragment") == "progress"
    template = "scoring/_retrain_progress.html" if fragment else "scoring/retrain_run.html"
    return render(request, template, {"run": run})
