"""Decision's references to its transaction and model version, checked per statement instead of per row.

Django's foreign keys are PostgreSQL constraints checked row by row at commit (DEFERRABLE INITIALLY
DEFERRED): for a 10,000-decision ingest batch that is 20,000 queued trigger events, each one a query that
finds and locks one row, ~70 ms of the commit. Here one trigger per statement checks all of a statement's
new decisions at once (~25 ms for the same batch), with the same guarantees:

- a decision's transaction and model version must exist. The referenced rows are locked FOR KEY SHARE
  to the end of the transaction, as PostgreSQL's own check does, so a concurrent transaction cannot
  delete them (or change their key) before this one commits;
- a transaction or model version that a decision references cannot be deleted, have its id changed,
  or be truncated away (ORM deletes still cascade: Django deletes the decisions first, and PROTECT
  stops a model version's delete before any SQL). These checks read the committed decisions when the
  deleting statement ends, which holds under READ COMMITTED (Django's default); PostgreSQL's own
  check also covers REPEATABLE READ deleters, which nothing here uses.

The checks run when the statement ends instead of at commit. So an ingest takes its key-share lock on
the model version before the audit chain's lock, in the order a promotion takes them (FOR UPDATE on the
champion, then the chain): at commit, after the chain's lock, the two could deadlock. On SQLite (the embedded default) row
triggers check new and changed decisions; deleting a referenced row there is left to the ORM
(CASCADE and PROTECT): SQLite's test flush deletes tables in no fixed order, with no way to tell.
A later migration that makes Django rebuild scoring_decision on SQLite (most AlterFields do) drops
its triggers there: create them again in that migration (scoring/tests/test_decision_references.py
fails until then).
"""

from django.db import migrations, models
import django.db.models.deletion

# The referenced tables and the decision column that references each.
REFERENCED = (("scoring_transaction", "transaction_id"), ("scoring_modelversion", "model_version_id"))

# For each: lock the statement's referenced rows FOR KEY SHARE; fewer locked than referenced means one is missing.
_CHECK_REFERENCES = "".join(
    f"""
    SELECT count(DISTINCT {column}) INTO expected FROM new_decisions;
    PERFORM 1 FROM {table} WHERE id IN (SELECT {column} FROM new_decisions) FOR KEY SHARE;
    GET DIAGNOSTICS locked = ROW_COUNT;
    IF locked < expected THEN
        SELECT n.{column} INTO missing FROM new_decisions n
        WHERE NOT EXISTS (SELECT 1 FROM {table} r WHERE r.id = n.{column}) LIMIT 1;
        RAISE EXCEPTION USING
            ERRCODE = 'foreign_key_violation',
            MESSAGE = 'insert or update on table "scoring_decision" violates its reference to "{table}"',
            DETAIL = format('Key ({column})=(%s) is not present in table "{table}".', missing);
    END IF;"""
    for table, column in REFERENCED
)

POSTGRESQL_INSTALL = f"""
CREATE FUNCTION scoring_decision_check_references() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    expected bigint;
    locked bigint;
    missing text;
BEGIN{_CHECK_REFERENCES}
    RETURN NULL;
END;
$$;

CREATE TRIGGER scoring_decision_references_insert
    AFTER INSERT ON scoring_decision REFERENCING NEW TABLE AS new_decisions
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_decision_check_references();
-- No column list: PostgreSQL allows none on a trigger with a transition table. So an update of other
-- columns checks its rows too (the worker's explanation of one decision: one row).
CREATE TRIGGER scoring_decision_references_update
    AFTER UPDATE ON scoring_decision REFERENCING NEW TABLE AS new_decisions
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_decision_check_references();

-- TG_ARGV[0]: the decision column that references the table the trigger is on.
CREATE FUNCTION scoring_decision_check_referenced() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    referenced text;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        -- After every table of the TRUNCATE is emptied: truncating the decisions too is fine.
        PERFORM 1 FROM scoring_decision LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION USING
                ERRCODE = 'foreign_key_violation',
                MESSAGE = format('cannot truncate table "%s": table "scoring_decision" references it', TG_TABLE_NAME),
                HINT = 'Truncate table "scoring_decision" at the same time.';
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
        EXECUTE format(
            'SELECT d.%1$I::text FROM scoring_decision d WHERE d.%1$I IN (SELECT id FROM old_rows) LIMIT 1',
            TG_ARGV[0]
        ) INTO referenced;
    ELSE  -- UPDATE of the id (a row trigger, see below)
        EXECUTE format('SELECT d.%1$I::text FROM scoring_decision d WHERE d.%1$I = $1 LIMIT 1', TG_ARGV[0])
            INTO referenced USING OLD.id;
    END IF;
    IF referenced IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'foreign_key_violation',
            MESSAGE = format(
                'update or delete on table "%s" violates the reference from table "scoring_decision"', TG_TABLE_NAME
            ),
            DETAIL = format('Key (id)=(%s) is still referenced from table "scoring_decision".', referenced);
    END IF;
    RETURN NULL;
END;
$$;

"""

# What would orphan a decision: deleting, renumbering or truncating a row it references.
POSTGRESQL_INSTALL += "".join(
    f"""
CREATE TRIGGER {table}_decision_delete
    AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_decision_check_referenced('{column}');
CREATE TRIGGER {table}_decision_key
    AFTER UPDATE OF id ON {table} FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION scoring_decision_check_referenced('{column}');
CREATE TRIGGER {table}_decision_truncate
    AFTER TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_decision_check_referenced('{column}');
"""
    for table, column in REFERENCED
)

POSTGRESQL_UNINSTALL = "".join(
    f"DROP TRIGGER IF EXISTS {table}_decision_{kind} ON {table};\n"
    for table, _ in REFERENCED
    for kind in ("truncate", "key", "delete")
) + """
DROP FUNCTION IF EXISTS scoring_decision_check_referenced();
DROP TRIGGER IF EXISTS scoring_decision_references_update ON scoring_decision;
DROP TRIGGER IF EXISTS scoring_decision_references_insert ON scoring_decision;
DROP FUNCTION IF EXISTS scoring_decision_check_references();
"""

_SQLITE_MISSING_REFERENCE = " OR ".join(
    f"NOT EXISTS (SELECT 1 FROM {table} WHERE id = NEW.{column})" for table, column in REFERENCED
)
# RAISE(ABORT) is SQLITE_CONSTRAINT: Python's sqlite3 raises IntegrityError, as for a foreign key.
SQLITE_INSTALL = [
    f"""CREATE TRIGGER scoring_decision_references_insert BEFORE INSERT ON scoring_decision
    WHEN {_SQLITE_MISSING_REFERENCE}
    BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: scoring_decision references'); END""",
    f"""CREATE TRIGGER scoring_decision_references_update
    BEFORE UPDATE OF transaction_id, model_version_id ON scoring_decision
    WHEN {_SQLITE_MISSING_REFERENCE}
    BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: scoring_decision references'); END""",
]
SQLITE_UNINSTALL = [
    "DROP TRIGGER IF EXISTS scoring_decision_references_update",
    "DROP TRIGGER IF EXISTS scoring_decision_references_insert",
]


# Per database vendor, the statements that install the checks and those that remove them.
INSTALL = {"postgresql": [POSTGRESQL_INSTALL], "sqlite": SQLITE_INSTALL}
UNINSTALL = {"postgresql": [POSTGRESQL_UNINSTALL], "sqlite": SQLITE_UNINSTALL}


def install(apps, schema_editor):
    _execute(schema_editor, INSTALL)


def uninstall(apps, schema_editor):
    _execute(schema_editor, UNINSTALL)


def _execute(schema_editor, statements: dict[str, list[str]]) -> None:
    for statement in statements.get(schema_editor.connection.vendor, ()):
        schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("scoring", "0011_decision_features_json")]

    operations = [
        # Reversed in this order too: the triggers go before the constraints come back.
        migrations.AlterField(
            model_name="decision",
            name="model_version",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="decisions",
                to="scoring.modelversion",
            ),
        ),
        migrations.AlterField(
            model_name="decision",
            name="transaction",
            field=models.OneToOneField(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                primary_key=True,
                related_name="decision",
                serialize=False,
                to="scoring.transaction",
            ),
        ),
        migrations.RunPython(install, uninstall, elidable=False),
    ]
