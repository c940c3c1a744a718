"""SAR drafts: prepared from the case's evidence when a closure as "SAR filed" is proposed, edited by the
analyst, approved (or set aside) with the closure by the four-eyes decision.

The draft holds subjects and identifiers in clear: it is part of the case, which only its team and
compliance see. Its audit events carry them hashed, as every audit payload's personal data is (audit.pii).
"""

import hashlib
from collections import Counter, defaultdict
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from audit.pii import PII_KEYS
from audit.services import audit_log
from cases.models import Approval, Case, CaseTransaction, SarDraft
from cases.services.lifecycle import require_perm
from kernel.errors import Conflict

# Features whose SHAP contributions are summed across the case's decisions for the model evidence.
TOP_FEATURES = 5


def sar_evidence(case: Case) -> dict:
    """What the case's transactions and decisions say, in the shape of the draft's fields."""
    links = CaseTransaction.objects.filter(case=case).select_related(
        "transaction", "transaction__decision", "transaction__decision__model_version"
    )
    totals: dict[str, Decimal] = defaultdict(Decimal)
    identifiers: dict[str, dict[str, set]] = defaultdict(lambda: defaultdict(set))
    rules: dict[str, dict] = {}
    risk_levels: Counter = Counter()
    versions: set[int] = set()
    features: Counter = Counter()
    times = []
    scores = []
    for link in links:
        txn = link.transaction
        times.append(txn.occurred_at)
        totals[txn.currency] += txn.amount
        for key, value in (txn.metadata or {}).items():
            if isinstance(key, str) and key.lower() in PII_KEYS and value not in (None, ""):
                identifiers[txn.account_id][key.lower()].add(str(value))
        identifiers[txn.account_id]  # every subject account is listed, identifiers or not
        decision = getattr(txn, "decision", None)
        if decision is None:
            continue
        scores.append(decision.score)
        risk_levels[decision.risk_level] += 1
        if decision.model_version_id:
            versions.add(decision.model_version.version)
        for hit in decision.rule_hits or ():
            code = hit.get("rule", "")
            entry = rules.setdefault(code, {"rule": code, "name": hit.get("name") or code, "hits": 0, "reason": ""})
            entry["hits"] += 1
            entry["reason"] = entry["reason"] or hit.get("reason", "")
        for item in (decision.explanation or {}).get("contributions", []):
            features[item.get("label") or item.get("feature")] += abs(item.get("contribution") or 0)
    subjects = [
        {"account_id": account, "identifiers": {key: sorted(values) for key, values in sorted(found.items())}}
        for account, found in sorted(identifiers.items())
    ] or [{"account_id": case.account_id, "identifiers": {}}]
    rule_evidence = sorted(rules.values(), key=lambda r: (-r["hits"], r["rule"]))
    return {
        "subjects": subjects,
        "activity_start": min(times) if times else None,
        "activity_end": max(times) if times else None,
        "totals": {currency: str(amount) for currency, amount in sorted(totals.items())},
        "transaction_count": len(times),
        "typologies": [r["name"] for r in rule_evidence] or ["Anomalous activity detected by the model"],
        "rule_evidence": rule_evidence,
        "model_evidence": {
            "model_versions": sorted(versions),
            "highest_score": f"{max(scores):.4f}" if scores else None,
            "risk_levels": dict(sorted(risk_levels.items())),
            "top_features": [name for name, _ in features.most_common(TOP_FEATURES)],
        },
    }


def sar_narrative(case: Case, evidence: dict, rationale: str) -> str:
    """A first narrative from the evidence, for the analyst to complete: who, what, when, how much, why."""
    start, end = evidence["activity_start"], evidence["activity_end"]
    period = f"between {start:%Y-%m-%d} and {end:%Y-%m-%d}" if start and end else "in the period reviewed"
    totals = ", ".join(f"{amount} {currency}" for currency, amount in evidence["totals"].items()) or "no amount"
    accounts = ", ".join(s["account_id"] for s in evidence["subjects"])
    model = evidence["model_evidence"]
    lines = [
        f"Account(s) {accounts} conducted {evidence['transaction_count']} transaction(s) {period} totalling {totals}.",
        f"finobs' model (version(s) {', '.join(map(str, model['model_versions'])) or 'n/a'}) scored them up to "
        f"{model['highest_score'] or 'n/a'}; risk levels {model['risk_levels'] or 'n/a'}.",
    ]
    if model["top_features"]:
        lines.append(f"The features that weighed most: {', '.join(model['top_features'])}.")
    if evidence["rule_evidence"]:
        hits = "; ".join(
            f"{r['name']} ({r['hits']}x){': ' + r['reason'] if r['reason'] else ''}" for r in evidence["rule_evidence"]
        )
        lines.append(f"Rules hit: {hits}.")
    lines.append(f"Suspected typologies: {', '.join(evidence['typologies'])}.")
    lines.append(f"Case {case.reference}, analyst's rationale: {rationale}")
    return "\n".join(lines)


def sar_draft_prepare(*, case: Case, approval: Approval, actor) -> SarDraft:
    """Make (or refresh, on a new proposal) the case's SAR draft from its evidence; a narrative the analyst
    edited is kept. Runs inside the closure proposal's transaction."""
    evidence = sar_evidence(case)
    draft = SarDraft.objects.filter(case=case).first()
    keep_narrative = draft is not None and draft.narrative_edited_by_id is not None
    if draft is None:
        draft = SarDraft(case=case, created_at=timezone.now())
    for field, value in evidence.items():
        setattr(draft, field, value)
    if not keep_narrative:
        draft.narrative = sar_narrative(case, evidence, approval.rationale)
    draft.approval = approval
    draft.status = SarDraft.Status.DRAFT
    draft.approved_at = None
    draft._history_user = actor
    draft.save()
    audit_log(
        actor=actor,
        action="sar.draft_prepared",
        object_type="case",
        object_id=case.reference,
        payload={
            "approval_id": approval.pk,
            "subjects": evidence["subjects"],  # account ids and identifiers are hashed in the trail
            "totals": evidence["totals"],
            "typologies": evidence["typologies"],
        },
    )
    return draft


def sar_draft_update(*, draft: SarDraft, narrative: str, typologies: list[str] | None, actor) -> SarDraft:
    """The analyst's edit of the narrative (and typologies) before the closure is approved. Audited."""
    require_perm(actor, "cases.work_case")
    narrative = narrative.strip()
    if not narrative:
        from django.core.exceptions import ValidationError

        raise ValidationError({"narrative": "A SAR needs a narrative."}, code="invalid")
    with transaction.atomic():
        draft = SarDraft.objects.select_for_update().get(pk=draft.pk)
        if not draft.is_editable:
            raise Conflict("This SAR was approved with the case's closure; it no longer changes.", code="sar_approved")
        draft.narrative = narrative
        if typologies is not None:
            draft.typologies = [t.strip() for t in typologies if t.strip()]
        draft.narrative_edited_by = actor
        draft.narrative_edited_at = timezone.now()
        draft._history_user = actor
        draft.save()
        audit_log(
            actor=actor,
            action="sar.draft_edited",
            object_type="case",
            object_id=draft.case.reference,
            payload={
                "narrative_sha256": hashlib.sha256(narrative.encode()).hexdigest(),
                "typologies": draft.typologies,
            },
        )
    return draft


def sar_draft_decided(*, approval: Approval, approved: bool) -> None:
    """The closure's four-eyes decision decides the draft proposed with it."""
    status = SarDraft.Status.APPROVED if approved else SarDraft.Status.REJECTED
    SarDraft.objects.filter(approval=approval).update(status=status, approved_at=timezone.now() if approved else None)
