"""The default organisation: every row stored before organisations existed, and every person, belong to it.

On a fresh database it is simply the first organisation (rename it in admin). Superusers stay outside
every organisation: they are platform staff.
"""

from django.db import migrations

DEFAULT_ORGANISATION_ID = 1


def create_default(apps, schema_editor):
    organisation_model = apps.get_model("organisations", "Organisation")
    membership_model = apps.get_model("organisations", "Membership")
    user_model = apps.get_model("auth", "User")
    organisation, _ = organisation_model.objects.get_or_create(
        pk=DEFAULT_ORGANISATION_ID, defaults={"slug": "default", "name": "Default organisation"}
    )
    membership_model.objects.bulk_create(
        [
            membership_model(user_id=user_id, organisation=organisation)
            for user_id in user_model.objects.filter(is_superuser=False).values_list("pk", flat=True)
        ],
        ignore_conflicts=True,
    )
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "SELECT setval(pg_get_serial_sequence('organisations_organisation', 'id'), "
            "(SELECT MAX(id) FROM organisations_organisation))"
        )


class Migration(migrations.Migration):
    dependencies = [("organisations", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [migrations.RunPython(create_default, migrations.RunPython.noop)]
