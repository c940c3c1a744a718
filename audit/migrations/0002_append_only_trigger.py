"""On PostgreSQL, refuse UPDATE, DELETE and TRUNCATE of audit events in the database itself."""

from django.db import migrations

INSTALL = """
CREATE OR REPLACE FUNCTION audit_auditevent_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'audit_auditevent is append-only: ' || TG_OP || ' is not allowed',
        HINT = 'Audit events can only be inserted, through audit.services.audit_log.';
END;
$$;

CREATE TRIGGER audit_auditevent_append_only_row
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_auditevent_append_only();

-- Row triggers do not fire on TRUNCATE, so it needs its own statement-level trigger.
CREATE TRIGGER audit_auditevent_append_only_truncate
    BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_auditevent_append_only();
"""

UNINSTALL = """
DROP TRIGGER IF EXISTS audit_auditevent_append_only_truncate ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_auditevent_append_only_row ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_auditevent_append_only();
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNINSTALL, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
