"""Migration operations for moving a model from one app to another without touching its rows."""

from django.db import migrations


def move_content_types(*, models: list[str], from_app: str, to_app: str) -> migrations.RunPython:
    """Re-label the moved models' content types, so their permissions, group grants, object permissions and
    admin log entries stay attached (a fresh database has none yet: post_migrate creates them)."""

    def forwards(apps, schema_editor, *, old=from_app, new=to_app):
        content_type = apps.get_model("contenttypes", "ContentType")
        for model in models:
            if not content_type.objects.filter(app_label=new, model=model).exists():
                content_type.objects.filter(app_label=old, model=model).update(app_label=new)

    def backwards(apps, schema_editor):
        forwards(apps, schema_editor, old=to_app, new=from_app)

    return migrations.RunPython(forwards, backwards)
