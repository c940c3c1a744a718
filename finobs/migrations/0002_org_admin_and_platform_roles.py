"""The admin role becomes org_admin (an organisation's administrator; its members keep it), and platform
staff get a role of their own (finobs.roles)."""

from django.db import migrations


def rename_admin(apps, schema_editor):
    group_model = apps.get_model("auth", "Group")
    if not group_model.objects.filter(name="org_admin").exists():
        group_model.objects.filter(name="admin").update(name="org_admin")
    from finobs.roles import sync_roles

    sync_roles(apps, strict=False)


def rename_back(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="org_admin").update(name="admin")


class Migration(migrations.Migration):
    dependencies = [("finobs", "0001_roles"), ("organisations", "0002_default_organisation")]
    operations = [migrations.RunPython(rename_admin, rename_back)]
