"""How the demo's team works each case the month opens, planned when the case opens and done through the
case services at the planned times: claimed, investigated, discussed (with @mentions), escalated, closed with
an outcome and a rationale (with the compliance officer's approval where four-eyes applies), or still open.

Cases whose SLA ends before now are closed in time, except one left to breach; the rest are at every stage a
live queue has, a few waiting for the compliance officer's approval."""

from datetime import timedelta
from functools import partial

from django.utils import timezone

from approvals.models import ApprovalStatus
from approvals.services import approval_decide
from cases.models import Approval, Case, Mention
from cases.services import (
    case_assign,
    case_close,
    case_comment,
    case_escalate,
    case_transition,
    mentions_mark_read,
)
from finobs.demo import Demo
from finobs.demo.people import COLLEAGUES

Status = Case.Status
Outcome = Case.Outcome

PENDING_APPROVALS = 3  # closures left waiting for the compliance officer
QUIET_MINUTES = 20  # nobody acts in the last minutes before now
RATIONALES = {
    "card_testing": "Burst of small online authorisations at several merchants within minutes; the cardholder "
    "confirmed by phone they made none of them. Card blocked and reissued.",
    "account_takeover": "New device and a country the customer never used, then transfers to a new payee at night. "
    "The customer confirmed the takeover; sessions revoked and credentials reset.",
    "outlier": "Amount far outside the account's history, at a merchant category it never used; the customer did "
    "not recognise it. Chargeback raised.",
    "structuring": "Cash-like transfers kept just under the reporting threshold on consecutive days, with no "
    "business reason on file. SAR filed with the FIU.",
    Outcome.FALSE_POSITIVE: "The customer confirmed the purchases (travelling, booked in advance); consistent with "
    "the account's history once the trip is known.",
    Outcome.NO_ACTION: "Customer not reachable, activity stopped and the amounts are small. Account on watch, no "
    "further action.",
}
NOTES = (
    "Called the customer, no answer yet; trying again this afternoon.",
    "Device fingerprint changed two hours before the first flagged transaction.",
    "Merchant confirms the orders shipped to the billing address.",
    "Same merchant as another case this week; linking them in the notes.",
)
MENTIONS = (
    "@{who} can you look at the merchant side? It came up in one of your cases.",
    "@{who} the amounts sit right under the reporting threshold, worth a second look.",
    "@{who} FYI, the customer asked for a call back before we block the card.",
)


def plan_case(demo: Demo, case: Case) -> None:
    """Schedule what the team does with `case`, just opened (the clock is at its opening)."""
    rng = demo.rng("case", case.reference)
    worker = rng.choice(["analyst", *COLLEAGUES])
    opened, due = case.opened_at, case.sla_due_at
    last = demo.end - timedelta(minutes=QUIET_MINUTES)
    if last <= opened:
        return
    close_at = opened + (due - opened) * rng.uniform(0.4, 0.95)
    if close_at < last and not demo.tally["breached"] and demo.end - timedelta(days=2) < due < demo.end:
        demo.tally["breached"] += 1  # one case the team did not get to in time
        demo.shared["breached"] = case.reference
        _work(demo, case.reference, worker, opened, last, rng, stage=Status.INVESTIGATING)
        return
    if close_at < last or rng.random() < 0.15:
        close_at = min(close_at, opened + (last - opened) * rng.uniform(0.5, 0.9))
        _work(demo, case.reference, worker, opened, close_at, rng, stage=Status.INVESTIGATING)
        demo.at(close_at, partial(_close, demo, case.reference, worker))
        return
    stage = rng.choices([Status.NEW, Status.TRIAGE, Status.INVESTIGATING, Status.ESCALATED], [2, 3, 4, 2])[0]
    _work(demo, case.reference, worker, opened, last, rng, stage=stage)


def replan_sooner(demo: Demo, case: Case) -> None:
    """`case` joined by new flagged transactions got a nearer SLA (a higher severity): the team closes it
    before that, unless it is the one left to breach."""
    last = demo.end - timedelta(minutes=QUIET_MINUTES)
    if case.reference == demo.shared.get("breached") or not case.is_open or case.sla_due_at >= last:
        return
    now = timezone.now()
    rng = demo.rng("sooner", case.reference, case.sla_due_at.isoformat())
    worker = worker_of(demo, case)
    demo.at(now + (case.sla_due_at - now) * rng.uniform(0.3, 0.8), partial(_close, demo, case.reference, worker))


def worker_of(demo: Demo, case: Case) -> str:
    """Which of the demo's analysts works `case` (its assignee; the analyst when it has none of them)."""
    return next((n for n in ("analyst", *COLLEAGUES) if demo.user(n).pk == case.assignee_id), "analyst")


def waiting_for_you(demo: Demo) -> None:
    """Schedule, shortly before now, closures proposed on the latest open high and critical cases (the compliance
    officer finds them waiting) and a colleague's questions to the analyst and the officer (unread mentions)."""
    if demo.is_new:
        demo.at(demo.end - timedelta(minutes=QUIET_MINUTES + 25), partial(_mention_latest, demo))
        demo.at(demo.end - timedelta(minutes=QUIET_MINUTES + 15), partial(_propose_latest, demo))


def _mention_latest(demo: Demo) -> None:
    latest = Case.objects.open().exclude(status=Status.PENDING_APPROVAL).order_by("-opened_at")[:2]
    for case, who in zip(latest, ("analyst", "compliance"), strict=False):
        body = MENTIONS[0].format(who=demo.user(who).get_username())
        case_comment(case=case, body=body, author=demo.user(COLLEAGUES[0]))


def _propose_latest(demo: Demo) -> None:
    latest = (
        Case.objects.open()
        .filter(severity__in=("high", "critical"), sla_due_at__gt=timezone.now())
        .exclude(status=Status.PENDING_APPROVAL)
        .order_by("-opened_at")[:PENDING_APPROVALS]
    )
    for case in latest:
        worker = worker_of(demo, case)
        _close(demo, case.reference, worker, decide=False)
        demo.tally["pending"] += 1


def _work(demo: Demo, reference: str, worker: str, start, end, rng, *, stage: str) -> None:
    """Claim, triage, comment and move the case towards `stage` between `start` and `end`."""
    if stage == Status.NEW:
        return
    span = end - start
    demo.at(start + span * rng.uniform(0.02, 0.15), partial(_claim, demo, reference, worker))
    if stage == Status.TRIAGE:
        return
    demo.at(start + span * rng.uniform(0.2, 0.4), partial(_move, demo, reference, worker, Status.INVESTIGATING))
    demo.at(start + span * rng.uniform(0.45, 0.6), partial(_comment, demo, reference, worker, rng.choice(NOTES)))
    if rng.random() < 0.45:
        who = _someone_else(worker, rng)
        body = rng.choice(MENTIONS).format(who=demo.user(who).get_username())
        demo.at(start + span * rng.uniform(0.62, 0.8), partial(_comment, demo, reference, worker, body))
    if stage == Status.ESCALATED:
        demo.at(start + span * rng.uniform(0.82, 0.95), partial(_escalate, demo, reference, worker))


def _someone_else(worker: str, rng) -> str:
    if worker != "analyst":
        return rng.choice(["analyst", "analyst", "compliance"])
    return rng.choice([*COLLEAGUES, "compliance"])


def _case(reference: str) -> Case | None:
    case = Case.objects.filter(reference=reference).first()
    return case if case is not None and case.status not in (Status.CLOSED, Status.PENDING_APPROVAL) else None


def _claim(demo: Demo, reference: str, worker: str) -> None:
    if case := _case(reference):
        case = case_assign(case=case, assignee=demo.user(worker), actor=demo.user(worker))
        if case.status == Status.NEW:
            case_transition(case=case, status=Status.TRIAGE, actor=demo.user(worker), reason="Picked up from the queue")


def _move(demo: Demo, reference: str, worker: str, status: str) -> None:
    if (case := _case(reference)) and case.status != status:
        case_transition(case=case, status=status, actor=demo.user(worker), reason="Gathering evidence")


def _comment(demo: Demo, reference: str, worker: str, body: str) -> None:
    if case := _case(reference):
        case_comment(case=case, body=body, author=demo.user(worker))


def _escalate(demo: Demo, reference: str, worker: str) -> None:
    if (case := _case(reference)) and case.status != Status.ESCALATED:
        case_escalate(
            case=case,
            actor=demo.user(worker),
            team=demo.teams["aml"],
            reason="Pattern across several accounts; needs the AML team's view.",
        )


def _close(demo: Demo, reference: str, worker: str, *, decide: bool = True) -> None:
    """Close with the outcome the evidence supports; where four-eyes applies the compliance officer decides."""
    case = _case(reference)
    if case is None:
        return
    outcome, rationale = _outcome(demo, case)
    case = case_close(case=case, outcome=outcome, rationale=rationale, actor=demo.user(worker))
    if case.status == Status.CLOSED:
        _read_mentions(case)
        return
    if decide:
        rng = demo.rng("decision", reference)
        decide_at = timezone.now() + timedelta(hours=rng.uniform(0.5, 5))
        demo.at(decide_at, partial(_approve, demo, reference))


def _approve(demo: Demo, reference: str) -> None:
    approval = Approval.objects.filter(case__reference=reference, status=ApprovalStatus.PENDING).first()
    if approval is None or timezone.now() >= demo.end - timedelta(minutes=QUIET_MINUTES):
        return
    approval_decide(approval=approval, actor=demo.user("compliance"), approve=True, note="Evidence checked; agreed.")
    _read_mentions(Case.objects.get(reference=reference))


def _read_mentions(case: Case) -> None:
    """Whoever was mentioned on a case that is now closed has read it by then."""
    unread = Mention.objects.filter(comment__case=case, read_at__isnull=True).select_related("user")
    for user in {mention.user for mention in unread}:
        mentions_mark_read(user=user, case=case)


def _outcome(demo: Demo, case: Case) -> tuple[str, str]:
    patterns = {demo.truth.get(e) for e in case.links.values_list("transaction__external_id", flat=True)} - {None}
    if "structuring" in patterns:
        return Outcome.SAR_FILED, RATIONALES["structuring"]
    if patterns:
        return Outcome.CONFIRMED_FRAUD, RATIONALES[sorted(patterns)[0]]
    outcome = Outcome.FALSE_POSITIVE if demo.rng("outcome", case.reference).random() < 0.85 else Outcome.NO_ACTION
    return outcome, RATIONALES[outcome]
