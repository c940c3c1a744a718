"""Row-level security on the counterparty senders; the fan-in and amount-jump rules for existing
organisations; their profiles rebuilt, so the new aggregates (largest amount, categories, senders) cover
what they stored before."""

import importlib

from django.db import migrations

_policies = importlib.import_module("organisations.migrations.0004_row_level_security")

TABLES = ("scoring_counterpartysender",)

# A frozen copy: a migration must not change when the code's defaults do.
NEW_RULES = [
    ("fan-in-24h", "Fan-in to one counterparty", "fan_in",
     {"min_senders": 8, "window_hours": 24.0, "min_amount": 1000.0}, "flag", "HIGH",
     "Eight or more distinct accounts each paying one merchant or payee 1,000 euros or more within 24 hours "
     "(money mule collection)."),
    ("amount-jump-20x", "Amount jump", "amount_jump", {"multiple": 20.0, "min_zscore": 2.5, "over_max": 1.0}, "flag", "HIGH",
     "An amount 20 times the account's usual in the merchant category, 2.5 standard deviations above its mean "
     "and above the largest it ever paid (accounts with at least 3 earlier transactions)."),
]  # fmt: skip
OLD_LIMIT_TEXT = "Any single transaction of 20,000 or more (absolute value, transaction currency)."
NEW_LIMIT_TEXT = "Any single transaction of 20,000 euros or more (absolute value, at reference rates)."


def install(apps, schema_editor):
    _policies.policies_on(schema_editor, TABLES)
    if schema_editor.connection.vendor == "postgresql":
        # Updated by every batch, like the account profiles (0010): room on each page for HOT updates.
        schema_editor.execute("ALTER TABLE scoring_counterpartysender SET (fillfactor = 70)")


def uninstall(apps, schema_editor):
    _policies.policies_off(schema_editor, TABLES)


def add_rules_and_rebuild(apps, schema_editor):
    Organisation = apps.get_model("organisations", "Organisation")
    Rule = apps.get_model("scoring", "Rule")
    Transaction = apps.get_model("scoring", "Transaction")
    organisations = list(Organisation.objects.values_list("id", flat=True))
    for organisation_id in organisations:
        for code, name, kind, params, action, risk_level, description in NEW_RULES:
            Rule.objects.get_or_create(
                organisation_id=organisation_id,
                code=code,
                defaults={"name": name, "kind": kind, "params": params, "action": action, "risk_level": risk_level,
                          "description": description},
            )  # fmt: skip
        Rule.objects.filter(organisation_id=organisation_id, description=OLD_LIMIT_TEXT).update(
            description=NEW_LIMIT_TEXT
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
    dependencies = [("organisations", "0004_row_level_security"), ("scoring", "0016_counterparty_profiles")]

    operations = [
        migrations.RunPython(install, uninstall, elidable=False),
        migrations.RunPython(add_rules_and_rebuild, migrations.RunPython.noop),
    ]
