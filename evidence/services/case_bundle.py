"""The members of a case bundle: the case, its transactions, decisions with SHAP contributions, timeline,
comments, approvals, attachments (each file's bytes, re-verified against the SHA-256 recorded when it was
attached), the agent's investigations and their proposals, and audit events.

CASE_MEMBERS is the list a case bundle is made of, in order. A part of the case that is added later (an
investigation, attachments) adds its member here with `@case_member("investigations.jsonl")`: a function
`(bundle, path, case)` that writes it, streaming rows as the others do.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db.models import F, Q

from audit.models import AuditEvent
from cases.models import AgentAction, Approval, Attachment, Case, CaseEvent, CaseTransaction, Comment, Investigation
from cases.services.attachments import attachment_verified_chunks
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


@case_member("attachments.jsonl")
def _attachments(bundle: BundleWriter, path: str, case: Case) -> None:
    """What was attached, and each clean file's bytes as `attachments/<sha256>` (stored once however often it
    was attached). The bytes are re-hashed as they are written: a stored file that no longer matches its
    recorded SHA-256 fails the export (and is audited) rather than reaching a bundle. Files that are infected
    or still waiting for their scan are listed without their bytes."""
    attachments = list(Attachment.objects.filter(case=case).select_related("uploaded_by").order_by("uploaded_at", "id"))
    rows = []
    for a in attachments:
        member = f"attachments/{a.sha256}" if a.is_downloadable else None
        if member and not bundle.has(member):
            bundle.add_chunks(member, attachment_verified_chunks(a, actor=f"export:{case.reference}"))
        rows.append(
            {
                "id": a.pk,
                "comment_id": a.comment_id,
                "name": a.original_name,
                "sha256": a.sha256,
                "size": a.size_bytes,
                "declared_type": a.declared_type,
                "sniffed_type": a.sniffed_type,
                "scan_status": a.scan_status,
                "uploaded_by": a.uploaded_by.get_username(),
                "uploaded_at": a.uploaded_at,
                "member": member,
            }
        )
    bundle.add_jsonl(path, rows)


@case_member("investigations.jsonl")
def _investigations(bundle: BundleWriter, path: str, case: Case) -> None:
    """The agent's investigations of the case, each with its evidence, findings, recommendation, trace and the
    proposals it made with who decided them."""
    investigations = (
        Investigation.objects.filter(case=case).select_related("requested_by", "api_key").order_by("created_at", "id")
    )
    actions: dict[int, list[dict]] = {}
    for a in AgentAction.objects.filter(case=case).select_related("decided_by").order_by("pk"):
        actions.setdefault(a.investigation_id, []).append(
            {
                "id": a.pk,
                "kind": a.action_kind,
                "payload": a.payload,
                "evidence_ids": a.evidence_ids,
                "rationale": a.rationale,
                "status": a.proposal_status,
                "decided_by": a.decided_by.get_username() if a.decided_by else None,
                "decided_at": a.decided_at,
                "reason": a.decision_note,
            }
        )
    bundle.add_jsonl(
        path,
        (
            {
                "id": i.pk,
                "mode": i.mode,
                "status": i.status,
                "requested_by": i.requested_by.get_username() if i.requested_by else None,
                "api_key": i.api_key.audit_label if i.api_key else None,
                "provider": i.provider,
                "model": i.model,
                "prompt_version": i.prompt_version,
                "created_at": i.created_at,
                "finished_at": i.finished_at,
                "evidence": i.evidence,
                "findings": i.findings,
                "recommendation": i.recommendation,
                "narrative": i.narrative,
                "dropped_claims": i.dropped_claims,
                "trace": i.trace,
                "error": i.error,
                "actions": actions.get(i.pk, []),
            }
            for i in investigations
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
