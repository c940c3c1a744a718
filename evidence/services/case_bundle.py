"""The members of a case bundle: the case, its transactions, decisions with SHAP contributions, timeline,
comments, approvals and audit events.

CASE_MEMBERS is the list a case bundle is made of, in order. A part of the case that is added later (an
investigation, attachments) adds its member here with `@case_member("investigations.jsonl")`: a function
`(bundle, path, case)` that writes it, streaming rows as the others do.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db.models import F, Q

from audit.models import AuditEvent
from cases.models import Approval, Case, CaseEvent, CaseTransaction, Comment
from evidence.bundles import BundleWriter
from evidence.models import ExportRecord
from evidence.services.records import export_builder
from evidence.services.rows import (
    AUDIT_EVENT_FIELDS,
    TRANSACTION_COLUMNS,
    decision_row,
    transaction_row,
    transaction_values,
)


@dataclass(frozen=True)
class CaseMember:
    path: str
    write: Callable[[BundleWriter, str, Case], None]


CASE_MEMBERS: list[CaseMember] = []


def case_member(path: str):
    """Register `write(bundle, path, case)` as the member `path` of every case bundle."""

    def register(write: Callable[[BundleWriter, str, Case], None]):
        CASE_MEMBERS.append(CaseMember(path, write))
        return write

    return register


@export_builder(ExportRecord.Kind.CASE, ExportRecord.Kind.SAR, ExportRecord.Kind.ARCHIVE_CASE)
def build_case_bundle(*, bundle: BundleWriter, record: ExportRecord, progress) -> tuple[dict, dict]:
    case = Case.objects.select_related("team", "assignee").get(pk=record.parameters["case_id"])
    case_bundle_write(bundle=bundle, case=case, with_sar=record.kind == ExportRecord.Kind.SAR)
    return {"case": case.reference}, {}


def case_bundle_write(*, bundle: BundleWriter, case: Case, with_sar: bool = False) -> None:
    for member in CASE_MEMBERS:
        member.write(bundle, member.path, case)
    if with_sar:
        from evidence.services.sar import sar_member_write

        sar_member_write(bundle, case)


@case_member("case.json")
def _case(bundle: BundleWriter, path: str, case: Case) -> None:
    bundle.add_json(
        path,
        {
            "reference": case.reference,
            "title": case.title,
            "account_id": case.account_id,
            "status": case.status,
            "severity": case.severity,
            "peak_severity": case.peak_severity,
            "priority": case.priority,
            "team": case.team.slug if case.team else None,
            "assignee": case.assignee.get_username() if case.assignee else None,
            "opened_at": case.opened_at,
            "sla_due_at": case.sla_due_at,
            "closed_at": case.closed_at,
            "outcome": case.outcome,
            "rationale": case.rationale,
            "legal_hold": case.legal_hold,
        },
    )


def _links(case: Case):
    links = CaseTransaction.objects.filter(case=case).order_by("transaction__occurred_at", "transaction_id")
    return transaction_values(links, "transaction__", link_added_at=F("added_at")).iterator(chunk_size=1000)


@case_member("transactions.csv")
def _transactions(bundle: BundleWriter, path: str, case: Case) -> None:
    rows = ([*transaction_row(row), row["link_added_at"]] for row in _links(case))
    bundle.add_csv(path, [*TRANSACTION_COLUMNS, "added_to_case_at"], rows)


@case_member("decisions.jsonl")
def _decisions(bundle: BundleWriter, path: str, case: Case) -> None:
    rows = (decision_row(row) for row in _links(case) if row["decision_score"] is not None)
    bundle.add_jsonl(path, rows)


@case_member("timeline.jsonl")
def _timeline(bundle: BundleWriter, path: str, case: Case) -> None:
    events = CaseEvent.objects.filter(case=case).order_by("created_at", "id")
    bundle.add_jsonl(
        path,
        ({"id": e.pk, "kind": e.kind, "actor": e.actor, "data": e.data, "created_at": e.created_at} for e in events),
    )


@case_member("comments.jsonl")
def _comments(bundle: BundleWriter, path: str, case: Case) -> None:
    comments = Comment.objects.filter(case=case).select_related("author").prefetch_related("mentioned")
    bundle.add_jsonl(
        path,
        (
            {
                "id": c.pk,
                "author": c.author.get_username(),
                "body": c.body,
                "created_at": c.created_at,
                "mentioned": sorted(u.get_username() for u in c.mentioned.all()),
            }
            for c in comments.order_by("created_at", "id")
        ),
    )


@case_member("approvals.jsonl")
def _approvals(bundle: BundleWriter, path: str, case: Case) -> None:
    approvals = Approval.objects.filter(case=case).select_related("requested_by", "decided_by")
    bundle.add_jsonl(
        path,
        (
            {
                "id": a.pk,
                "kind": "case_closure",
                "outcome": a.outcome,
                "rationale": a.rationale,
                "reason": a.reason,
                "status": a.status,
                "requested_by": a.requested_by.get_username(),
                "requested_at": a.requested_at,
                "decided_by": a.decided_by.get_username() if a.decided_by else None,
                "decided_at": a.decided_at,
                "decision_note": a.decision_note,
            }
            for a in approvals.order_by("requested_at", "id")
        ),
    )


@case_member("audit_events.jsonl")
def _audit_events(bundle: BundleWriter, path: str, case: Case) -> None:
    """The case's events in the organisation's chain, each with its hash and previous hash: a reader checks
    each one's hash, and its place in the chain against an audit trail export."""
    bundle.add_jsonl(path, case_audit_events(case))


def case_audit_events(case: Case) -> Iterator[dict]:
    approval_ids = [str(pk) for pk in Approval.objects.filter(case=case).values_list("pk", flat=True)]
    scope = Q(object_type="case", object_id=case.reference)
    if approval_ids:
        scope |= Q(object_type="case_closure", object_id__in=approval_ids)
    yield from AuditEvent.objects.filter(scope).order_by("id").values(*AUDIT_EVENT_FIELDS).iterator(chunk_size=2000)
