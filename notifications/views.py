"""The notifications page: a person's own notifications, marking them read, and their email choices."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from kernel.pages import run_service
from notifications import selectors, services
from notifications.models import EmailMode

PAGE_SIZE = 100


@require_GET
@login_required
def notification_list(request):
    rows = list(selectors.notifications_of(request.user)[:PAGE_SIZE])
    context = {
        "notifications": rows,
        "preferences": selectors.preferences_of(request.user),
        "email_modes": EmailMode.choices,
        "has_email": bool(request.user.email),
    }
    return render(request, "notifications/list.html", context)


@require_POST
@login_required
def notification_open(request, pk: int):
    """Mark one notification read and go where it leads (only a path inside finobs)."""
    row = selectors.notifications_of(request.user).filter(pk=pk).first()
    if row is None:
        raise Http404("No notification of yours with this id.")
    services.notifications_mark_read(user=request.user, ids=[row.pk])
    internal = row.url.startswith("/") and url_has_allowed_host_and_scheme(row.url, allowed_hosts=None)
    target = row.url if internal else ""
    return HttpResponseRedirect(target or reverse("notifications:list"))


@require_POST
@login_required
def notifications_read(request):
    changed = services.notifications_mark_read(user=request.user)
    messages.success(request, f"Marked {changed} notification{'s' if changed != 1 else ''} read.")
    return HttpResponseRedirect(reverse("notifications:list"))


@require_POST
@login_required
def preferences_save(request):
    def save():
        for kind, _label, _mode in selectors.preferences_of(request.user):
            chosen = request.POST.get(f"email_{kind}")
            if chosen:
                services.notification_preference_set(user=request.user, kind=kind, email=chosen)

    if run_service(request, save):
        messages.success(request, "Email choices saved.")
    return HttpResponseRedirect(reverse("notifications:list"))
