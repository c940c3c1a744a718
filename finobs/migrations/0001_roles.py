"""Create the viewer, analyst, compliance and admin groups with their permissions (finobs.roles)."""

from django.db import migrations


def create_roles(apps, schema_editor):
    from finobs.roles import sync_roles

    sync_roles(apps, strict=False)


def remove_roles(apps, schema_editor):
    from finobs.roles import ROLES

    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("audit", "0002_append_only_trigger"),
        ("scoring", "0001_initial"),
        ("ingestion", "0001_initial"),
        ("cases", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
