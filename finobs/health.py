"""Liveness and readiness probes."""
from django.http import JsonResponse


def live(request):
    return JsonResponse({"status": "ok"})


def ready(request):
    return JsonResponse({"status": "ok"})
