"""The second wall: on PostgreSQL, row-level security on every organisation-owned table.

Each table gets RLS enabled and forced (so the tables' owner is filtered too; only superusers and
BYPASSRLS roles are not) and one policy, for reads and writes alike: a row is visible, and may be written,
when its organisation is the session's `finobs.organisation` (set by organisations.row_security before every
statement), or when that setting is `system` (platform work). Anything else (unset, empty, `nobody`) sees
and writes no row. The platform's audit chain (audit events with no organisation) is therefore `system`'s
only; audit.services writes and reads a chain as its owner.

The tables are named here, not found from the app registry: a migration must not change with the models.
organisations/tests/test_row_security.py fails when a table with an organisation column has no policy.
SQLite has no row-level security: there this migration does nothing.
"""

from django.db import migrations

TABLES = (
    "apikeys_apikey",
    "audit_auditevent",
    "cases_approval",
    "cases_case",
    "cases_casecounter",
    "cases_caseevent",
    "cases_casetransaction",
    "cases_comment",
    "cases_historicalapproval",
    "cases_historicalcase",
    "cases_historicalroutingrule",
    "cases_historicalteam",
    "cases_mention",
    "cases_routingrule",
    "cases_team",
    "delivery_callbackendpoint",
    "delivery_delivery",
    "delivery_deliveryattempt",
    "delivery_historicalcallbackendpoint",
    "delivery_outboxevent",
    "ingestion_historicalpullsource",
    "ingestion_idempotencykey",
    "ingestion_pullrun",
    "ingestion_pullsource",
    "ingestion_uploadjob",
    "scoring_accountprofile",
    "scoring_accountvaluecount",
    "scoring_decision",
    "scoring_driftreport",
    "scoring_experiment",
    "scoring_historicalrule",
    "scoring_modelversion",
    "scoring_promotionrequest",
    "scoring_rule",
    "scoring_transaction",
)
POLICY = "organisation_isolation"

# The functions read the setting; the policies call them in sub-selects, which PostgreSQL evaluates once
# per statement (an InitPlan) instead of once per row, and `organisation_id = <a value>` can use the
# tables' indexes, all led by the organisation.
FUNCTIONS = """
CREATE OR REPLACE FUNCTION finobs_organisation_id() RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN setting ~ '^[0-9]{1,18}$' THEN setting::bigint END
    FROM current_setting('finobs.organisation', true) AS setting
$$;
CREATE OR REPLACE FUNCTION finobs_is_system() RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(current_setting('finobs.organisation', true) = 'system', false)
$$;
"""
RULE = "organisation_id = (SELECT finobs_organisation_id()) OR (SELECT finobs_is_system())"


def policies_on(schema_editor, tables) -> None:
    """Row-level security enabled, forced and the policy created on `tables` (PostgreSQL only); later
    migrations call it for the tables they add."""
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in tables:
        schema_editor.execute(
            f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY; ALTER TABLE {table} FORCE ROW LEVEL SECURITY; "
            f"CREATE POLICY {POLICY} ON {table} FOR ALL USING ({RULE}) WITH CHECK ({RULE});",
            params=None,
        )


def policies_off(schema_editor, tables) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in tables:
        schema_editor.execute(
            f"DROP POLICY IF EXISTS {POLICY} ON {table}; ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY; "
            f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY;",
            params=None,
        )


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTIONS, params=None)
    policies_on(schema_editor, TABLES)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    policies_off(schema_editor, TABLES)
    schema_editor.execute("DROP FUNCTION IF EXISTS finobs_is_system(); DROP FUNCTION IF EXISTS finobs_organisation_id();")


class Migration(migrations.Migration):
    dependencies = [
        ("organisations", "0003_settings_help_text"),
        ("apikeys", "0003_organisation"),
        ("audit", "0003_organisation"),
        ("cases", "0006_organisation"),
        ("delivery", "0004_organisation"),
        ("ingestion", "0006_organisation"),
        ("scoring", "0014_organisation"),
    ]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
