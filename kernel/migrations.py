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


def encrypt_fields(*, app_label: str, model_name: str, fields: list[str]) -> migrations.RunPython:
    """Encrypt the stored values of `fields` (kernel.encryption), and decrypt them when migrating back.

    Runs while the fields are plain text columns (between an AlterField to TextField and one to
    EncryptedTextField), so it reads and writes the column as stored. A value that is already a token
    under the configured keys is left as it is, so a half-done run can be run again.
    """
    from kernel.encryption import UndecryptableSecret, decrypt, encrypt

    def is_token(value: str) -> bool:
        try:
            decrypt(value)
        except UndecryptableSecret:
            return False
        return True

    def convert(apps, change) -> None:
        model = apps.get_model(app_label, model_name)
        for row in model._base_manager.only("pk", *fields).iterator():
            values = {f: change(getattr(row, f)) for f in fields if getattr(row, f)}
            if values:
                model._base_manager.filter(pk=row.pk).update(**values)

    def forwards(apps, schema_editor):
        convert(apps, lambda value: value if is_token(value) else encrypt(value))

    def backwards(apps, schema_editor):
        convert(apps, lambda value: decrypt(value) if is_token(value) else value)

    return migrations.RunPython(forwards, backwards, elidable=False)
