"""On PostgreSQL, let the append-only trigger pass the one deletion retention makes: the events of a segment
that was archived into a signed bundle, removed in a transaction that declares it (audit_archived_remove).
UPDATE and TRUNCATE stay refused, and so does any DELETE that does not declare it."""

from django.db import migrations

INSTALL = """
CREATE OR REPLACE FUNCTION audit_auditevent_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('finobs.audit_archive', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'audit_auditevent is append-only: ' || TG_OP || ' is not allowed',
        HINT = 'Audit events can only be inserted, through audit.services.audit_log.';
END;
$$;
"""

UNINSTALL = """
CREATE OR REPLACE FUNCTION audit_auditevent_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'audit_auditevent is append-only: ' || TG_OP || ' is not allowed',
        HINT = 'Audit events can only be inserted, through audit.services.audit_log.';
END;
$$;
"""


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(INSTALL, params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNINSTALL, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_organisation")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
