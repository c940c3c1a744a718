"""The analyst workspace pages: dashboard, worklist, case detail, mentions. Thin: selectors read,
services write, every case read goes through Case.objects.visible_to(user)."""

from datetime import UTC

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases import selectors, services
from cases.dashboard import dashboard_data, portfolio_card
from cases.models import Case, Mention, Severity, Team
from cases.services.investigations import investigation_request
from cases.services.proposals import agent_action_decide, describe
from cases.similarity import similar_cases
from kernel.pages import rate_limited, run_service
from organisations.selectors import members

view_required = permission_required("cases.view_case", raise_exception=True)
WORKLIST_ORDERINGS = [
    ("", "Newest first"),
    ("sla", "SLA due first"),
    ("severity", "Most severe first"),
    ("priority", "Priority"),
    ("-updated", "Recently updated"),
    ("opened", "Oldest first"),
]


@require_GET
@login_required
def dashboard(request):
    if not (request.user.has_perm("cases.view_case") or request.user.has_perm("scoring.view_decision")):
        raise PermissionDenied
    days = request.GET.get("risk_days", "")
    portfolio = portfolio_card(
        request.user, days=int(days) if days.isdigit() else 7, group_by=request.GET.get("risk_by", "account")
    )
    return render(request, "cases/dashboard.html", {"data": dashboard_data(request.user), "portfolio": portfolio})


@require_GET
@login_required
@view_required
def worklist(request):
    data = selectors.worklist(request.user, request.GET, request=request, page_number=request.GET.get("page", 1))
    context = {
        "worklist": data,
        "query": _query_without_page(request),
        "assignees": _workers(),
        "may_assign": request.user.has_perm("cases.assign_case"),
        "live_url": "/ws/cases/",
        "chosen": {
            "status": request.GET.getlist("status"),
            "severity": request.GET.getlist("severity"),
            "outcome": request.GET.getlist("outcome"),
            "state": request.GET.get("state", ""),
            "ordering": request.GET.get("ordering", ""),
        },
        "statuses": Case.Status.choices,
        "severities": Severity.choices,
        "outcomes": Case.Outcome.choices,
        "states": [("", "Open"), ("closed", "Closed"), ("all", "All")],
        "orderings": WORKLIST_ORDERINGS,
    }
    template = "cases/_worklist_table.html" if request.headers.get("HX-Request") else "cases/worklist.html"
    return render(request, template, context)


@require_POST
@login_required
@view_required
def bulk_assign(request):
    references = request.POST.getlist("reference")
    cases = list(Case.objects.visible_to(request.user).filter(reference__in=references))
    if not cases:
        messages.error(request, "Select at least one case.")
        return _back(request, reverse("cases:worklist"))
    username = request.POST.get("assignee", "")
    assign = lambda: services.case_assign_many(cases=cases, assignee=_user_or_none(username), actor=request.user)  # noqa: E731
    if run_service(request, assign):
        messages.success(
            request, f"Assigned {len(cases)} case{'s' if len(cases) > 1 else ''} to {username or 'nobody'}."
        )
    return _back(request, reverse("cases:worklist"))


@require_GET
@login_required
@view_required
def case_detail(request, reference):
    case = _case_or_404(request, reference)
    fragment = request.GET.get("fragment")
    if fragment in {"head", "timeline"}:
        return render(request, f"cases/_case_{fragment}.html", _live_context(request, case))
    if case.merged_into_id is not None:  # a merged duplicate's reference leads to the case it joined
        survivor = Case.objects.visible_to(request.user).filter(pk=case.merged_into_id).first()
        if survivor is not None:
            return HttpResponseRedirect(reverse("cases:detail", args=[survivor.reference]))
    links = selectors.case_transactions(case)
    activity = selectors.account_activity(case, links)
    in_case = {link.transaction_id for link in links}
    context = {
        **_live_context(request, case),
        "links": links,
        "activity": activity,
        "activity_chart": {
            "from": (activity[0].occurred_at - selectors.ACTIVITY_WINDOW).isoformat() if activity else None,
            "to": activity[0].occurred_at.isoformat() if activity else None,
            "points": [
                {
                    "t": t.occurred_at.isoformat(),
                    "amount": float(t.amount),
                    "flagged": bool(getattr(getattr(t, "decision", None), "flagged", False)),
                    "in_case": t.pk in in_case,
                }
                for t in reversed(activity)
            ],
        },
        "in_case": in_case,
        "may_view_explanations": request.user.has_perm("scoring.view_explanation"),
    }
    return render(request, "cases/detail.html", context)


@require_GET
@login_required
@view_required
@rate_limited("similar_cases")
def case_similar(request, reference):
    case = _case_or_404(request, reference)
    links = selectors.case_transactions(case)
    vectors = [getattr(link.transaction, "decision", None) for link in links]
    similar = similar_cases(case, request.user, vectors=[d.features for d in vectors if d and d.features])
    return render(request, "cases/_similar.html", {"case": case, "similar": similar})


def _live_context(request, case: Case) -> dict:
    user = request.user
    return {
        "case": case,
        "timeline": selectors.timeline(case),
        "approval": selectors.pending_approval(case),
        "transitions": [(s, Case.Status(s).label) for s in services.allowed_transitions(case)],
        "outcomes": [(value, label) for value, label in Case.Outcome.choices if value != Case.Outcome.MERGED],
        "teams": Team.objects.all(),
        "assignees": _workers(),
        "may_work": user.has_perm("cases.work_case") and case.is_open,
        "may_assign": user.has_perm("cases.assign_case") and case.is_open,
        "may_escalate": user.has_perm("cases.escalate_case")
        and Case.Status.ESCALATED in services.TRANSITIONS[case.status],
        "may_close": user.has_perm("cases.propose_closure") and case.is_open,
        "may_approve": user.has_perm("cases.approve_closure"),
        "may_export": user.has_perm("cases.export_case"),
        "may_hold": user.has_perm("cases.set_legal_hold"),
        "sar_draft": getattr(case, "sar_draft", None),
        "live_url": f"/ws/cases/{case.reference}/",
    }


# --- Case actions: POST, then back to the case page (PRG); errors become messages ----------------


@require_POST
@login_required
@view_required
def case_action(request, reference, action):
    case = _case_or_404(request, reference)
    post = request.POST
    user = request.user
    version = _version(post)
    calls = {
        "claim": lambda: services.case_assign(case=case, assignee=user, actor=user, version=version),
        "assign": lambda: services.case_assign(
            case=case, assignee=_user_or_none(post.get("assignee", "")), actor=user, version=version
        ),
        "transition": lambda: services.case_transition(
            case=case, status=post.get("status", ""), reason=post.get("reason", ""), actor=user, version=version
        ),
        "escalate": lambda: services.case_escalate(
            case=case,
            reason=post.get("reason", ""),
            team=Team.objects.filter(slug=post.get("team", "")).first(),
            assignee=_user_or_none(post.get("assignee", "")),
            actor=user,
            version=version,
        ),
        "comment": lambda: services.case_comment(case=case, body=post.get("body", ""), author=user),
        "close": lambda: services.case_close(
            case=case, outcome=post.get("outcome", ""), rationale=post.get("rationale", ""), actor=user, version=version
        ),
        "share": lambda: services.case_share(case=case, user=_user_required(post.get("user", "")), actor=user),
        "legal-hold": lambda: services.case_legal_hold(
            case=case, hold=post.get("hold") == "1", reason=post.get("reason", ""), actor=user
        ),
    }
    if action not in calls:
        raise PermissionDenied
    if run_service(request, calls[action]) and action == "close":
        case.refresh_from_db()
        if case.status == Case.Status.PENDING_APPROVAL:
            messages.info(request, "Closure proposed: it waits for a second approver (four-eyes).")
        else:
            messages.success(request, f"Closed as {case.get_outcome_display()}.")
    return HttpResponseRedirect(reverse("cases:detail", args=[case.reference]))


@require_http_methods(["GET", "POST"])
@login_required
@view_required
def case_sar(request, reference):
    """The SAR draft of a case proposed (or closed) as SAR filed: read it, and edit its narrative before approval."""
    case = _case_or_404(request, reference)
    draft = getattr(case, "sar_draft", None)
    if draft is None:
        raise Http404("This case has no SAR draft.")
    if request.method == "POST":
        typologies = [t for t in request.POST.get("typologies", "").splitlines() if t.strip()]
        if run_service(
            request,
            lambda: services.sar_draft_update(
                draft=draft, narrative=request.POST.get("narrative", ""), typologies=typologies, actor=request.user
            ),
        ):
            messages.success(request, "SAR draft saved.")
        return HttpResponseRedirect(reverse("cases:sar", args=[case.reference]))
    may_edit = request.user.has_perm("cases.work_case") and draft.is_editable
    return render(request, "cases/sar.html", {"case": case, "draft": draft, "may_edit": may_edit})


@require_POST
@login_required
@view_required
def mentions_read(request, reference):
    """The case page, once shown, marks the user's mentions on it read (htmx, on load)."""
    case = _case_or_404(request, reference)
    services.mentions_mark_read(user=request.user, case=case)
    return HttpResponse(status=204)


@require_GET
@login_required
@view_required
def mentions(request):
    rows = (
        Mention.objects.filter(user=request.user, comment__case__in=Case.objects.visible_to(request.user))
        .select_related("comment", "comment__case", "comment__author")
        .order_by("-created_at")[:100]
    )
    return render(request, "cases/mentions.html", {"mentions": rows})


# --- helpers --------------------------------------------------------------------------------------


def _case_or_404(request, reference: str) -> Case:
    case = selectors.case_for(request.user, reference)
    if case is None:
        raise Http404("No case with this reference.")
    return case


def _workers():
    return (
        members()
        .filter(is_active=True, groups__permissions__codename="work_case")
        .distinct()
        .order_by("username")
        .only("id", "username")
    )


def _version(post) -> int | None:
    """The case version a form was rendered with (every action form carries it); None when absent."""
    try:
        return int(post["version"])
    except (KeyError, ValueError):
        return None


def _user_or_none(username: str):
    if not username:
        return None
    return _user_required(username)


def _user_required(username: str):
    user = members().filter(username=username, is_active=True).first()
    if user is None:
        raise ValidationError({"user": f"No active user {username!r}."})
    return user


def _query_without_page(request) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _back(request, default: str):
    target = request.POST.get("next") or request.headers.get("Referer") or default
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = default
    return HttpResponseRedirect(target)


# --- Transaction search, cases opened by hand, availability ----------------------------------------


@require_GET
@login_required
@permission_required("scoring.view_transaction", raise_exception=True)
def transaction_search(request):
    """Search one account's transactions; pick some and open a case by hand from them."""
    try:
        page = selectors.transaction_search(request.user, request.GET, cursor=request.GET.get("cursor"))
    except ValueError:
        raise Http404("Not a valid cursor.") from None
    query = request.GET.copy()
    if page.next_cursor:
        query["cursor"] = page.next_cursor
    context = {
        "page": page,
        "searched": "account" in request.GET,
        "next_query": query.urlencode() if page.next_cursor else "",
        "may_open": request.user.has_perm("cases.work_case"),
        "severities": Severity.choices,
        "origins": [c for c in Case.Origin.choices if c[0] != Case.Origin.FLAGGED],
        "teams": Team.objects.all(),
    }
    return render(request, "cases/transactions.html", context)


@require_POST
@login_required
@permission_required("cases.work_case", raise_exception=True)
def case_new(request):
    post = request.POST
    try:
        ids = [int(v) for v in post.getlist("transaction")]
    except ValueError:
        ids = None
    opened = {}

    def open_case():
        if ids is None:
            raise ValidationError({"transaction": "Pick transactions from the search."})
        opened["case"] = services.case_open_manual(
            actor=request.user,
            account_id=post.get("account_id", ""),
            description=post.get("description", ""),
            severity=post.get("severity", ""),
            origin=post.get("origin", ""),
            title=post.get("title", ""),
            team=Team.objects.filter(slug=post.get("team", "")).first() if post.get("team") else None,
            transaction_ids=ids,
            assign_to_self=post.get("assign_to_self") == "on",
        )

    if run_service(request, open_case):
        case = opened["case"]
        messages.success(request, f"Opened {case.reference}.")
        return HttpResponseRedirect(reverse("cases:detail", args=[case.reference]))
    return _back(request, reverse("cases:transactions"))


@login_required
@permission_required("cases.work_case", raise_exception=True)
def availability(request):
    """Whether I take automatically assigned cases now; my teams' members' availability."""
    if request.method == "POST":
        until = parse_datetime(request.POST.get("out_of_office_until", "") or "") or None
        if until is not None and timezone.is_naive(until):
            until = timezone.make_aware(until, UTC)
        set_it = lambda: services.availability_set(  # noqa: E731
            user=request.user,
            actor=request.user,
            is_available=request.POST.get("is_available") == "on",
            out_of_office_until=until,
            note=request.POST.get("note", ""),
        )
        if run_service(request, set_it):
            messages.success(request, "Availability saved.")
        return HttpResponseRedirect(reverse("cases:availability"))
    return render(request, "cases/availability.html", selectors.availability_overview(request.user))


# --- Investigations: the panel on the case page, asking for one, deciding proposals, the queue ---------


@require_GET
@login_required
@view_required
def case_investigation(request, reference):
    """The Investigation panel (htmx fragment, re-fetched on the case's live hints)."""
    case = _case_or_404(request, reference)
    return render(request, "cases/_investigation.html", _investigation_context(request, case))


@require_POST
@login_required
@view_required
@rate_limited("investigations")
def case_investigate(request, reference):
    case = _case_or_404(request, reference)
    if run_service(request, lambda: investigation_request(case=case, actor=request.user)):
        messages.info(request, "Investigation started: the panel below fills in as the agent works.")
    return HttpResponseRedirect(reverse("cases:detail", args=[case.reference]) + "#investigation-h")


@require_POST
@login_required
@view_required
def proposal_decide(request, reference, action_id, decision):
    case = _case_or_404(request, reference)
    proposal = selectors.agent_actions_visible_to(request.user).filter(pk=action_id, case=case).first()
    if proposal is None:
        raise Http404("No such proposal on this case.")
    accept = decision == "accept"
    decide = lambda: agent_action_decide(  # noqa: E731
        action=proposal, actor=request.user, accept=accept, reason=request.POST.get("reason", "")
    )
    if run_service(request, decide):
        proposal.refresh_from_db()
        if not accept:
            messages.success(request, "Proposal rejected.")
        elif proposal.effect.get("waits_for"):
            messages.info(request, f"Accepted: it now waits for {proposal.effect['waits_for']} (four-eyes).")
        else:
            messages.success(request, "Accepted and applied.")
    return _back(request, reverse("cases:detail", args=[case.reference]) + "#investigation-h")


def _investigation_context(request, case: Case) -> dict:
    user = request.user
    investigation, actions = selectors.latest_investigation(case)
    evidence = {item["id"]: item for item in (investigation.evidence if investigation else [])}
    steps = [step for step in (investigation.trace if investigation else []) if "tool" in step]
    return {
        "case": case,
        "investigation": investigation,
        "evidence": evidence,
        "findings": [
            {**finding, "cited": [evidence[i] for i in finding["evidence_ids"] if i in evidence]}
            for finding in (investigation.findings if investigation else [])
        ],
        "cited": [evidence[i] for i in (investigation.recommendation or {}).get("evidence_ids", []) if i in evidence]
        if investigation
        else [],
        "steps": steps,
        "outcome_label": str((investigation.recommendation or {}).get("outcome", "")).replace("_", " ")
        if investigation
        else "",
        "actions": [(a, describe(a)) for a in actions],
        "may_investigate": user.has_perm("cases.request_investigation") and case.is_open,
        "may_decide": user.has_perm("cases.decide_agent_action"),
    }


@require_GET
@login_required
@view_required
def recommendations(request):
    """The agent's open proposals the user may decide, filtered by kind, severity and age."""
    data = selectors.recommendation_queue(request.user, request.GET)
    return render(
        request,
        "cases/recommendations.html",
        {**data, "may_decide": request.user.has_perm("cases.decide_agent_action")},
    )
