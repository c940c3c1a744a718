"""Rule changes: validated, versioned (simple-history) and audited in one transaction."""

from __future__ import annotations

from django.db import transaction

from audit.services import audit_log
from scoring.models import Rule
from scoring.rule_engine import DEFAULT_RULES, rule_params, validate_rule

AUDITED_FIELDS = ("code", "name", "kind", "params", "action", "risk_level", "is_active", "description")


def rule_save(*, rule: Rule, actor, reason: str = "") -> Rule:
    """Create or change a rule. The history row records the change; the audit event records who and what."""
    validate_rule(rule)
    rule.params = rule_params(rule)
    with transaction.atomic():
        before = Rule.objects.filter(pk=rule.pk).values(*AUDITED_FIELDS).first() if rule.pk else None
        rule._change_reason = reason
        rule.save()
        after = {f: getattr(rule, f) for f in AUDITED_FIELDS}
        changes = {f: [before[f], after[f]] for f in AUDITED_FIELDS if before and before[f] != after[f]}
        audit_log(
            actor=actor,
            action="rule.changed" if before else "rule.created",
            object_type="scoring.Rule",
            object_id=rule.pk,
            payload={"code": rule.code, "changes": changes if before else after, "reason": reason},
        )
    return rule


def rules_install_defaults(*, actor="system:rules") -> int:
    """Create the shipped rules that are missing (by code); returns how many were created."""
    existing = set(Rule.objects.values_list("code", flat=True))
    created = 0
    for spec in DEFAULT_RULES:
        if spec["code"] not in existing:
            rule_save(rule=Rule(**spec), actor=actor, reason="default rule")
            created += 1
    return created
