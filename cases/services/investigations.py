"""Investigations: asking for one, running the agent, storing its whole result or its failure, and the
continuous scan. The agent's proposals become AgentActions (four-eyes requests its system identity asks)
that a person accepts or rejects (cases.services.proposals).

A run is claimed by a conditional UPDATE (queued -> running), so a task delivered twice runs once. Its
result is written in one transaction with the status `done`, the proposals, the timeline entry and the
audit event; a failure writes `failed` with the reason and nothing else.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from apikeys.models import ApiKey
from approvals.services import approval_request, approvals_supersede
from audit.services import audit_log
from cases.investigations.agent import AgentFailure, deadline, investigate, prompt_version
from cases.investigations.evidence import EvidenceRegister
from cases.investigations.identity import agent_identity
from cases.investigations.providers import chat_model
from cases.investigations.scope import ReadScope
from cases.investigations.tools import Workbench
from cases.models import AgentAction, Case, CaseEvent, Investigation, Severity
from cases.services.lifecycle import lock_case, record_change, require_perm
from cases.services.live import notify_case_changed
from kernel.errors import Conflict

logger = logging.getLogger(__name__)

Status = Investigation.Status


def investigation_request(*, case: Case, actor, mode: str = Investigation.Mode.ON_DEMAND) -> Investigation:
    """Queue an investigation of `case`, read with `actor`'s view of the data; runs after commit (a task).

    On demand, `actor` is the person who asks (cases.request_investigation, and they must see the case);
    in continuous mode it is the agent's system identity. Over MCP (mode `mcp`), `actor` is the API key that
    asks (its `investigate` scope, and a case of its source): the run reads as the agent's system identity
    narrowed to the key's source, and the key is recorded as the one who asked.
    """
    api_key = None
    if mode == Investigation.Mode.ON_DEMAND:
        require_perm(actor, "cases.request_investigation")
    elif mode == Investigation.Mode.MCP:
        if ApiKey.Scope.INVESTIGATE not in actor.scopes:
            raise PermissionDenied(f"The API key needs the '{ApiKey.Scope.INVESTIGATE}' scope for this.")
        api_key = actor
    scope = ReadScope(user=agent_identity() if api_key else actor, api_key=api_key)
    if not scope.cases().filter(pk=case.pk).exists():
        raise Conflict("The case is not visible to whoever asks.", code="not_visible")
    investigations_fail_stale(cases=[case])
    if Investigation.objects.filter(case=case, status__in=[Status.QUEUED, Status.RUNNING]).exists():
        raise Conflict("An investigation of this case is already under way.", code="investigation_running")
    provider, model = settings.FINOBS_AGENT_PROVIDER, settings.FINOBS_AGENT_MODEL
    with transaction.atomic():
        investigation = Investigation.objects.create(
            case=case,
            mode=mode,
            requested_by=scope.user,
            api_key=api_key,
            provider=provider,
            model=model,
            prompt_version=prompt_version(),
            created_at=timezone.now(),
        )
        audit_log(
            actor=actor,
            action="investigation.requested",
            object_type="investigation",
            object_id=investigation.pk,
            payload={"case": case.reference, "mode": mode, "provider": provider},
        )
        _progress(investigation, "queued")
        transaction.on_commit(lambda: _enqueue(investigation.pk))
    return investigation


def _enqueue(investigation_id: int) -> None:
    from cases.tasks import investigation_run_task

    investigation_run_task.delay(investigation_id)


def investigation_run(*, investigation_id: int, model=None) -> Investigation | None:
    """Run a queued investigation to `done` or `failed`; None when another worker claimed it already.

    `model` is the chat model to use (the configured provider's by default).
    """
    claimed = Investigation.objects.filter(pk=investigation_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return None
    investigation = Investigation.objects.select_related("case", "requested_by", "api_key").get(pk=investigation_id)
    _progress_now(investigation, "running")
    started = time.perf_counter()
    if investigation.api_key is not None and not investigation.api_key.is_active:
        return _fail(investigation, "The API key that asked was revoked or expired before the run.", trace=[],
                     started=started)  # fmt: skip
    bench = Workbench(
        case=investigation.case,
        scope=ReadScope.of(investigation),
        proposer=investigation.requested_by if investigation.mode == Investigation.Mode.ON_DEMAND else None,
        register=EvidenceRegister(),
        deadline=deadline(),
    )
    bench.on_step = _progress_reporter(investigation, bench)
    try:
        if model is None:
            model, investigation.provider, investigation.model = chat_model()
        result = investigate(bench=bench, model=model)
    except AgentFailure as error:
        return _fail(investigation, str(error), trace=bench.register.trace, started=started)
    except Exception as error:  # configuration, a missing provider package: fail with the reason, never hang
        logger.exception("investigation %s failed", investigation_id)
        return _fail(investigation, f"{type(error).__name__}: {error}", trace=bench.register.trace, started=started)
    return _finish(investigation, result, started)


def _finish(investigation: Investigation, result, started: float) -> Investigation:
    agent = agent_identity(investigation.organisation_id)
    with transaction.atomic():
        case = lock_case(investigation.case)
        investigation.status = Status.DONE
        investigation.finished_at = timezone.now()
        investigation.duration_ms = round((time.perf_counter() - started) * 1000)
        investigation.evidence = result.evidence
        investigation.findings = result.findings
        investigation.recommendation = result.recommendation
        investigation.narrative = result.narrative
        investigation.dropped_claims = result.dropped_claims
        investigation.trace = [*result.trace, *({"refused": r} for r in result.refusals)]
        investigation.save()
        approvals_supersede(
            requests=AgentAction.objects.filter(case=case).exclude(investigation=investigation),
            reason=f"superseded by investigation {investigation.pk}",
        )
        for action in result.actions:
            approval_request(
                kind=_kind(),
                actor=agent,
                investigation=investigation,
                case=case,
                action_kind=action["kind"],
                payload=action["payload"],
                evidence_ids=action["evidence_ids"],
                rationale=action["rationale"],
            )
        record_change(
            case,
            kind=CaseEvent.Kind.INVESTIGATED,
            actor=agent,
            data={
                "investigation_id": investigation.pk,
                "status": Status.DONE,
                "mode": investigation.mode,
                "requested_by": requester_label(investigation),
                "recommendation": result.recommendation.get("outcome"),
                "confidence": result.recommendation.get("confidence"),
                "findings": len(result.findings),
                "proposals": len(result.actions),
                "dropped_claims": result.dropped_claims,
            },
            action="case.investigated",
        )
    return investigation


def _fail(investigation: Investigation, reason: str, *, trace: list, started: float | None) -> Investigation:
    """Failed with the reason; the partial evidence stays in the trace only, never as a result."""
    reason = (reason or "unknown failure")[:2000]
    with transaction.atomic():
        case = lock_case(investigation.case)
        Investigation.objects.filter(pk=investigation.pk).update(
            status=Status.FAILED,
            finished_at=timezone.now(),
            duration_ms=round((time.perf_counter() - started) * 1000) if started is not None else None,
            error=reason,
            trace=trace,
            provider=investigation.provider,
            model=investigation.model,
        )
        record_change(
            case,
            kind=CaseEvent.Kind.INVESTIGATED,
            actor=agent_identity(investigation.organisation_id),
            data={
                "investigation_id": investigation.pk,
                "status": Status.FAILED,
                "mode": investigation.mode,
                "requested_by": requester_label(investigation),
                "error": reason[:300],
            },
            action="case.investigation_failed",
        )
    investigation.refresh_from_db()
    return investigation


def requester_label(investigation: Investigation) -> str:
    """Who asked, as the timeline names them: a person's or the agent's username, or an API key's audit label."""
    if investigation.api_key_id is not None:
        return investigation.api_key.audit_label
    return investigation.requested_by.get_username()


# A run past its time limit by this much lost its worker; a queued one this old was never picked up.
STALE_GRACE_S = 60
QUEUED_STALE_S = 3600


def investigations_fail_stale(*, cases=None) -> int:
    """Fail the runs whose worker was lost (running well past the time limit) or that no worker took, so
    they no longer block a new investigation of their case. Returns how many."""
    now = timezone.now()
    running_since = now - timedelta(seconds=settings.FINOBS_AGENT_TIMEOUT_S + STALE_GRACE_S)
    stale = Investigation.objects.filter(
        Q(status=Status.RUNNING, started_at__lt=running_since)
        | Q(status=Status.QUEUED, created_at__lt=now - timedelta(seconds=QUEUED_STALE_S))
    )
    if cases is not None:
        stale = stale.filter(case__in=cases)
    lost = list(stale.select_related("case", "requested_by", "api_key"))
    for investigation in lost:
        _fail(investigation, "The run stopped without finishing (its worker was lost).", trace=investigation.trace,
              started=None)  # fmt: skip
    return len(lost)


def investigations_continuous(*, budget: int | None = None) -> list[Investigation]:
    """Queue investigations of the current organisation's open HIGH/CRITICAL cases that have none recent, or
    whose evidence changed since their last one, at most `budget` of them (oldest first)."""
    budget = settings.AGENT_CONTINUOUS_BUDGET if budget is None else budget
    if budget <= 0:
        return []
    investigations_fail_stale()
    agent = agent_identity()
    since = timezone.now() - timedelta(hours=settings.AGENT_REINVESTIGATE_AFTER_H)
    recent = Investigation.objects.filter(case=OuterRef("pk"), created_at__gte=since)
    under_way = Investigation.objects.filter(case=OuterRef("pk"), status__in=[Status.QUEUED, Status.RUNNING])
    # Evidence changed: transactions joined the case after its latest investigation.
    latest = (
        Investigation.objects.filter(case=OuterRef(OuterRef("pk"))).order_by("-created_at").values("created_at")[:1]
    )
    changed = CaseEvent.objects.filter(
        case=OuterRef("pk"), kind=CaseEvent.Kind.TRANSACTIONS_ADDED, created_at__gt=Subquery(latest)
    )
    candidates = (
        Case.objects.visible_to(agent)
        .open()
        .filter(severity__in=[Severity.HIGH, Severity.CRITICAL])
        .exclude(status=Case.Status.PENDING_APPROVAL)
        .filter(~Exists(under_way))
        .filter(~Exists(recent) | Exists(changed))
        .order_by("opened_at")[:budget]
    )
    queued = []
    for case in candidates:
        try:
            queued.append(investigation_request(case=case, actor=agent, mode=Investigation.Mode.CONTINUOUS))
        except Conflict:
            continue
    return queued


def _kind():
    from cases.services.proposals import AGENT_ACTION

    return AGENT_ACTION


def _progress(investigation: Investigation, stage: str) -> None:
    """A hint to the case page's socket (after commit): the Investigation panel re-fetches itself."""
    case = investigation.case
    notify_case_changed(
        case_id=case.pk, reference=case.reference, team_id=None, user_ids=[], kind=f"investigation.{stage}"
    )


# Progress is written at most this often: a remote model's slow steps each show, a fast run pays little.
PROGRESS_EVERY_S = 0.5


def _progress_reporter(investigation: Investigation, bench: Workbench):
    """What runs after each tool call: the trace so far on the row and a hint to the case page (which shows the
    progress), at most every PROGRESS_EVERY_S."""
    reported_at = time.monotonic()

    def report() -> None:
        nonlocal reported_at
        if time.monotonic() - reported_at < PROGRESS_EVERY_S:
            return
        reported_at = time.monotonic()
        with transaction.atomic():
            Investigation.objects.filter(pk=investigation.pk).update(trace=bench.register.trace)
            _progress(investigation, "progress")

    return report


def _progress_now(investigation: Investigation, stage: str) -> None:
    with transaction.atomic():
        _progress(investigation, stage)
