"""The shipped rules (scoring.rule_engine.DEFAULT_RULES), created once; later edits go through admin and are audited."""

from django.db import migrations

# A frozen copy: a migration must not change when the code's defaults do.
DEFAULT_RULES = [
    ("structuring-24h", "Structuring just under the 10,000 reporting threshold", "structuring",
     {"floor": 8000.0, "threshold": 10000.0, "window_hours": 24.0, "min_count": 2}, "flag", "HIGH",
     "Two or more payments of 8,000-9,999.99 by one account within 24 hours (FinCEN CTR / "
     "EU cash-control threshold 10,000)."),
    ("card-testing-10m", "Card-testing burst", "card_testing",
     {"max_amount": 5.0, "window_minutes": 10.0, "min_count": 4}, "flag", "HIGH",
     "Four or more payments of at most 5.00 by one account within 10 minutes."),
    ("fatf-call-for-action", "FATF call-for-action jurisdiction", "high_risk_country",
     {"countries": ["KP", "IR", "MM"]}, "flag", "CRITICAL",
     "Any transaction in a jurisdiction on the FATF black list (KP, IR, MM as of Feb 2026)."),
    ("amount-over-20k", "Amount over 20,000", "amount_over_limit", {"limit": 20000.0}, "flag", "HIGH",
     "Any single transaction of 20,000 or more (absolute value, transaction currency)."),
    ("velocity-1h", "High velocity", "velocity", {"window_minutes": 60.0, "min_count": 15}, "raise", "MEDIUM",
     "Fifteen or more transactions by one account within an hour: worth a look, not an alert."),
]  # fmt: skip


def create_rules(apps, schema_editor):
    Rule = apps.get_model("scoring", "Rule")
    for code, name, kind, params, action, risk_level, description in DEFAULT_RULES:
        Rule.objects.get_or_create(
            code=code,
            defaults={"name": name, "kind": kind, "params": params, "action": action, "risk_level": risk_level,
                      "description": description},
        )  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [("scoring", "0004_scoring_engine")]
    operations = [migrations.RunPython(create_rules, migrations.RunPython.noop)]
