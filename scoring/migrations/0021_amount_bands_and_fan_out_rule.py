"""The amount bands per account and category (the robust outlier features' histograms) and the fan-out rule
for existing organisations; their profiles rebuilt, so the bands cover what they stored before."""

from django.db import migrations, models

# A frozen copy: a migration must not change when the code's defaults do.
FAN_OUT_RULE = (
    "fan-out-24h", "Fan-out to new payees", "fan_out", {"min_new_payees": 4, "min_amount": 250.0}, "flag", "HIGH",
    "A payment of 250 euros or more by an account that paid four or more payees for the first time within 24 "
    "hours, this one included (money mule distribution; accounts with at least 3 earlier transactions).",
)  # fmt: skip


def add_rule_and_rebuild(apps, schema_editor):
    Organisation = apps.get_model("organisations", "Organisation")
    Rule = apps.get_model("scoring", "Rule")
    Transaction = apps.get_model("scoring", "Transaction")
    code, name, kind, params, action, risk_level, description = FAN_OUT_RULE
    for organisation_id in Organisation.objects.values_list("id", flat=True):
        Rule.objects.get_or_create(
            organisation_id=organisation_id,
            code=code,
            defaults={"name": name, "kind": kind, "params": params, "action": action, "risk_level": risk_level,
                      "description": description},
        )  # fmt: skip
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
            field=models.CharField(choices=[('structuring', 'Structuring under a reporting threshold'), ('card_testing', 'Card-testing burst'), ('high_risk_country', 'High-risk country'), ('amount_over_limit', 'Amount over limit'), ('velocity', 'Velocity'), ('fan_in', 'Fan-in to one counterparty'), ('fan_out', 'Fan-out to new counterparties'), ('amount_jump', "Amount jump against the account's history")], max_length=32),
        ),
        migrations.AlterField(
            model_name='rule',
            name='kind',
            field=models.CharField(choices=[('structuring', 'Structuring under a reporting threshold'), ('card_testing', 'Card-testing burst'), ('high_risk_country', 'High-risk country'), ('amount_over_limit', 'Amount over limit'), ('velocity', 'Velocity'), ('fan_in', 'Fan-in to one counterparty'), ('fan_out', 'Fan-out to new counterparties'), ('amount_jump', "Amount jump against the account's history")], max_length=32),
        ),
        migrations.RunPython(add_rule_and_rebuild, migrations.RunPython.noop),
    ]
