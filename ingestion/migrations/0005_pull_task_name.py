"""Pull sources' periodic tasks run ingestion.tasks.pull_source_run_task (the task's new name)."""

from django.db import migrations

OLD, NEW = "ingestion.tasks.pull_source", "ingestion.tasks.pull_source_run_task"


def rename(apps, schema_editor, *, old=OLD, new=NEW):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=old).update(task=new)


def rename_back(apps, schema_editor):
    rename(apps, schema_editor, old=NEW, new=OLD)


class Migration(migrations.Migration):
    dependencies = [
        ("ingestion", "0004_outbox_and_callbacks_move_to_delivery"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(rename, rename_back)]
