"""The amount bands per account and category (the robust outlier features' histograms), and the fan-out and
takeover rules for existing organisations; the shipped fan-in rule, where its parameters are still the shipped ones, asks
for 5 senders of whom 80% new; their profiles rebuilt, so the bands cover what they stored before."""

from django.db import migrations, models
from django.utils import timezone

# A frozen copy: a migration must not change when the code's defaults do.
NEW_RULES = [
    ("fan-out-24h", "Fan-out to new payees", "fan_out", {"min_new_payees": 4, "min_amount": 250.0}, "flag", "HIGH",
     "A payment of 250 euros or more by an account that paid four or more payees for the first time within 24 "
     "hours, this one included (money mule distribution; accounts with at least 3 earlier transactions)."),
    ("takeover-signs", "Account takeover signs", "takeover",
     {"max_country_share": 0.1, "min_hour_shift": 6.0, "min_zscore": 1.5}, "flag", "HIGH",
     "A payment in a country the account used for at most 10% of its history, at least 6 hours away from its "
     "usual time of day, and 1.5 standard deviations above its mean amount (accounts with at least 3 earlier "
     "transactions)."),
]  # fmt: skip
FAN_IN_SHIPPED = {"min_senders": 8, "window_hours": 24.0, "min_amount": 1000.0}
FAN_IN_CALIBRATED = {**FAN_IN_SHIPPED, "min_senders": 5, "min_new_sender_share": 0.8}
FAN_IN_TEXT = (
    "Five or more distinct accounts each paying one merchant or payee 1,000 euros or more within 24 hours, at "
    "least 80% of its senders in 7 days paying it for the first time (money mule collection, not a busy "
    "shop's regulars)."
)


def add_rule_and_rebuild(apps, schema_editor):
    Organisation = apps.get_model("organisations", "Organisation")
    Rule = apps.get_model("scoring", "Rule")
    Transaction = apps.get_model("scoring", "Transaction")
    for organisation_id in Organisation.objects.values_list("id", flat=True):
        for code, name, kind, params, action, risk_level, description in NEW_RULES:
            Rule.objects.get_or_create(
                organisation_id=organisation_id,
                code=code,
                defaults={"name": name, "kind": kind, "params": params, "action": action, "risk_level": risk_level,
                          "description": description},
            )  # fmt: skip
    HistoricalRule = apps.get_model("scoring", "HistoricalRule")
    for rule in Rule.objects.filter(code="fan-in-24h", kind="fan_in"):
        if rule.params == FAN_IN_SHIPPED:
            rule.params, rule.description = FAN_IN_CALIBRATED, FAN_IN_TEXT
            rule.save(update_fields=["params", "description", "updated_at"])
            # The rule's history records the change, as a change through the rules service would.
            HistoricalRule.objects.create(
                **{f.attname: getattr(rule, f.attname) for f in Rule._meta.concrete_fields},
                history_date=timezone.now(),
                history_type="~",
                history_change_reason="shipped parameters recalibrated on traffic finobs was not trained on",
            )
    stored = set(Transaction.objects.values_list("organisation_id", flat=True).distinct())
    if stored:
        # The live rebuild: it writes the aggregates exactly as the ingest path does.
        from organisations.context import organisation_context
        from organisations.models import Organisation as LiveOrganisation
        from scoring.profiles import profiles_rebuild

        for organisation in LiveOrganisation.objects.filter(id__in=stored):
            with organisation_context(organisation):
                profiles_rebuild(organisation=organisation)


class Migration(migrations.Migration):

    dependencies = [
        ('scoring', '0020_merge_rule_activations'),
    ]

    operations = [
        migrations.AlterField(
            model_name='accountvaluecount',
            name='kind',
            field=models.CharField(choices=[('c', 'Country'), ('m', 'Merchant'), ('k', 'Merchant category'), ('b', 'Amount band in a merchant category')], max_length=1),
        ),
        migrations.AlterField(
            model_name='historicalrule',
            name='kind',
            field=models.CharField(choices=[('structuring', 'Structuring under a reporting threshold'), ('card_testing', 'Card-testing burst'), ('high_risk_country', 'High-risk country'), ('amount_over_limit', 'Amount over limit'), ('velocity', 'Velocity'), ('fan_in', 'Fan-in to one counterparty'), ('fan_out', 'Fan-out to new counterparties'), ('takeover', 'Account takeover signs'), ('amount_jump', "Amount jump against the account's history")], max_length=32),
        ),
        migrations.AlterField(
            model_name='rule',
            name='kind',
            field=models.CharField(choices=[('structuring', 'Structuring under a reporting threshold'), ('card_testing', 'Card-testing burst'), ('high_risk_country', 'High-risk country'), ('amount_over_limit', 'Amount over limit'), ('velocity', 'Velocity'), ('fan_in', 'Fan-in to one counterparty'), ('fan_out', 'Fan-out to new counterparties'), ('takeover', 'Account takeover signs'), ('amount_jump', "Amount jump against the account's history")], max_length=32),
        ),
        migrations.RunPython(add_rule_and_rebuild, migrations.RunPython.noop),
    ]
