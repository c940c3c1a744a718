"""The second wall: PostgreSQL's row-level security keeps each organisation's rows to itself even for a query
that forgets the application's filter, and agrees with that filter.

The test database's user is a superuser, whom row-level security never filters: these tests switch to a
role that is neither a superuser nor able to bypass it (`SET LOCAL ROLE`, undone with the test's transaction).
"""

from contextlib import contextmanager

import pytest
from django.apps import apps
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apikeys.services import api_key_create
from audit.models import AuditEvent
from audit.services import PLATFORM, audit_log
from cases.models import Case, CaseCounter
from conftest import default_organisation, suspicious_record, transaction_record
from ingestion.services import ingest
from organisations.context import NOBODY, organisation_context, system_context
from organisations.models import Organisation
from organisations.row_security import organisation_setting
from scoring.models import Decision, ModelVersion, Transaction
from scoring.tests.builders import copy_model_version

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

# The migrations that put policies on tables, each naming its tables.
POLICY_MIGRATIONS = (
    "organisations.migrations.0004_row_level_security",
    "organisations.migrations.0005_row_level_security_retrain_runs",
    "evidence.migrations.0002_row_level_security",
    "cases.migrations.0009_row_level_security_sar_drafts",
    "scoring.migrations.0017_counterparty_rules_and_row_security",
    "scoring.migrations.0019_row_security_calibrations",
    "organisations.migrations.0006_row_level_security_attachments",
    "organisations.migrations.0007_row_level_security_checklists",
    "organisations.migrations.0008_row_level_security_suppression",
    "notifications.migrations.0002_row_level_security",
    "cases.migrations.0008_row_level_security_availability",
    "cases.migrations.0008_row_level_security_investigations",
    "scoring.migrations.0017_row_level_security_rule_activations",
)
NOT_ORGANISATION_DATA = {"organisations.Membership"}  # who belongs where: read to find the organisation


@pytest.fixture
def restricted():
    """`with restricted():` runs a block as a role that row-level security applies to."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database()")
        role = f"finobs_rls_{cursor.fetchone()[0]}"  # roles are per server: one per test database
        cursor.execute(f"CREATE ROLE {role} NOSUPERUSER NOBYPASSRLS")
        cursor.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}")
        cursor.execute(f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}")

    @contextmanager
    def as_restricted_role():
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL ROLE {role}")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL ROLE NONE")

    return as_restricted_role


@pytest.fixture
def two_organisations(champion, organisation):
    """Organisation A (the default) and B (harbour), each with a transaction, a case and audit events, and
    an event in the platform's chain."""
    a = default_organisation()
    with organisation_context(organisation):
        copy_model_version(champion, status=ModelVersion.Status.CHAMPION)
    for org, n in ((a, 1), (organisation, 2)):
        result = ingest(
            [transaction_record(n), suspicious_record(n + 10, account_id=f"acc-{org.slug}")],
            organisation=org,
            source="acme",
            actor="t",
        )
        assert result.accepted == 2
    with system_context():
        audit_log(actor="platform", action="organisation.created", organisation=PLATFORM)
    return a, organisation


def raw_organisations(table: str) -> list[int | None]:
    """Every row's organisation, with no filter of the application's."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT organisation_id FROM {table}")  # noqa: S608
        return [row[0] for row in cursor.fetchall()]


def current_setting() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('finobs.organisation', true)")
        return cursor.fetchone()[0]


def test_every_table_with_an_organisation_has_the_policy_and_forces_it():
    from importlib import import_module

    owned = {
        model._meta.db_table
        for model in apps.get_models()
        if model._meta.label not in NOT_ORGANISATION_DATA
        and any(f.name == "organisation" and f.related_model is Organisation for f in model._meta.concrete_fields)
    }
    named = {table for module in POLICY_MIGRATIONS for table in import_module(module).TABLES}
    assert named == owned, "name the table in a migration's policy list"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_policies p ON p.tablename = c.relname "
            "WHERE p.policyname = 'organisation_isolation' AND c.relrowsecurity AND c.relforcerowsecurity"
        )
        protected = {row[0] for row in cursor.fetchall()}
    assert owned - protected == set(), f"tables without row-level security: {sorted(owned - protected)}"


def test_a_raw_select_sees_the_current_organisations_rows_only(two_organisations, restricted):
    a, b = two_organisations
    tables = ("scoring_transaction", "cases_case", "audit_auditevent")
    with restricted():
        for org in (a, b):
            with organisation_context(org):
                assert current_setting() == str(org.pk)
                for table in tables:
                    found = raw_organisations(table)
                    assert found and set(found) == {org.pk}, table
        with organisation_context(NOBODY):
            assert current_setting() == "nobody"
            assert [raw_organisations(table) for table in tables] == [[], [], []]
        with system_context():
            assert current_setting() == "system"
            assert set(raw_organisations("scoring_transaction")) == {a.pk, b.pk}
            assert set(raw_organisations("audit_auditevent")) == {a.pk, b.pk, None}  # the platform's chain too
        with organisation_context(a):
            raw_organisations("cases_case")
            # The setting missing altogether (a session the application did not prepare): no row.
            connection.connection.execute("RESET finobs.organisation")
            with connection.connection.cursor() as raw:
                raw.execute("SELECT count(*) FROM scoring_transaction")
                assert raw.fetchone()[0] == 0


def test_writing_a_row_of_another_organisation_is_refused(two_organisations, restricted):
    a, b = two_organisations
    with restricted(), organisation_context(a), connection.cursor() as cursor:
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            cursor.execute("INSERT INTO cases_casecounter (organisation_id, year, last) VALUES (%s, 1999, 0)", [b.pk])
        cursor.execute("INSERT INTO cases_casecounter (organisation_id, year, last) VALUES (%s, 1999, 0)", [a.pk])
        with pytest.raises(DatabaseError, match="row-level security"), transaction.atomic():
            cursor.execute("UPDATE cases_casecounter SET organisation_id = %s WHERE year = 1999", [b.pk])
        cursor.execute("DELETE FROM cases_casecounter")  # B's counter is not A's to delete: not even seen
        assert cursor.rowcount == 2  # A's counter of this year's cases, and of 1999
    with system_context():
        assert CaseCounter.objects.filter(organisation=b).count() == 1


def test_the_application_filter_and_the_database_policy_agree(two_organisations, restricted):
    a, b = two_organisations
    models = (Transaction, Decision, Case, AuditEvent)
    _, key_a = api_key_create(organisation=a, name="A", source="acme", scopes=["read"])
    with system_context():
        expected = {
            org.pk: {
                model: set(model.objects.filter(organisation=org).values_list("pk", flat=True)) for model in models
            }
            for org in (a, b)
        }
    with restricted():
        for org in (a, b):
            with organisation_context(org):
                for model in models:
                    filtered = set(model.objects.values_list("pk", flat=True))  # the application's filter
                    unfiltered = set(model.objects.for_all_organisations().values_list("pk", flat=True))
                    assert filtered == unfiltered == expected[org.pk][model], model.__name__
        # Through the API, as a request outside any context until its key names one.
        response = Client().get("/api/v1/cases/", HTTP_X_WEBHOOK_KEY=key_a)
        assert response.status_code == 200
        body = response.json()
        listed = {case["account_id"] for case in (body["results"] if isinstance(body, dict) else body)}
        with organisation_context(a):
            assert listed == set(Case.objects.values_list("account_id", flat=True)) == {"acc-default"}


def test_an_ingest_under_row_level_security_copies_its_rows_in(champion, organisation, restricted):
    a = default_organisation()
    records = [transaction_record(n, account_id=f"acc-{n % 150}") for n in range(200)]  # 150 profiles: by COPY too
    with restricted():
        result = ingest(records, organisation=a, source="acme", actor="t")
        assert result.accepted == 200  # bulk inserts of 200 rows go by COPY, here through a staging table
        with organisation_context(a):
            assert Transaction.objects.for_all_organisations().count() == 200
        with organisation_context(organisation):
            assert Transaction.objects.for_all_organisations().count() == 0
    with system_context():
        assert set(Transaction.objects.values_list("organisation_id", flat=True)) == {a.pk}


def test_an_ingest_costs_at_most_one_round_trip_for_the_setting(champion, organisation):
    a = default_organisation()
    with organisation_context(organisation):
        copy_model_version(champion, status=ModelVersion.Status.CHAMPION)

    def setting_queries(org, n) -> tuple[int, int]:
        records = [suspicious_record(n + i, account_id=f"acc-{n + i}") for i in range(50)]
        with CaptureQueriesContext(connection) as queries:
            assert ingest(records, organisation=org, source="acme", actor="t").accepted == 50
        sets = [q for q in queries.captured_queries if "set_config('finobs.organisation'" in q["sql"]]
        return len(sets), len(queries.captured_queries)

    setting_queries(a, 0)  # warm up: the champion loaded, the counters made
    assert setting_queries(a, 100)[0] == 0  # the session holds A's already
    assert setting_queries(organisation, 200)[0] == 1  # another organisation: one set_config
    assert setting_queries(a, 300)[0] == 1


def test_the_setting_follows_savepoint_rollbacks(organisation):
    with organisation_context(organisation):
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            assert current_setting() == str(organisation.pk)
            with organisation_context(NOBODY):
                assert current_setting() == "nobody"
                1 / 0  # noqa: B018
        # The savepoint's rollback undid "nobody" and set_config(harbour) if set after it.
        assert current_setting() == str(organisation.pk)


@pytest.mark.django_db(transaction=True)
def test_the_setting_follows_transactions_that_roll_back_and_commit():
    harbour = Organisation.objects.create(slug="harbour", name="Harbour bank")
    a = default_organisation()
    with organisation_context(a):
        assert current_setting() == str(a.pk)  # autocommit: the session holds it
    with organisation_context(harbour):
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            assert current_setting() == str(harbour.pk)  # set inside the transaction...
            1 / 0  # noqa: B018
        assert current_setting() == str(harbour.pk)  # ...rolled back with it, so set again
        with transaction.atomic(), organisation_context(a):
            assert current_setting() == str(a.pk)
        with organisation_context(a), CaptureQueriesContext(connection) as queries:
            assert current_setting() == str(a.pk)  # committed: the session holds it, nothing to set
        assert len(queries.captured_queries) == 1


def test_the_wrapper_is_on_every_postgresql_connection():
    connection.ensure_connection()
    assert organisation_setting in connection.execute_wrappers
