"""collectstatic with the production storage (DEBUG off): every referenced file exists, hashed names resolve."""

from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management import call_command


def test_collectstatic_with_the_manifest_storage(settings, tmp_path):
    # Django's setting_changed handler gives staticfiles_storage a fresh storage for these settings.
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    assert (tmp_path / "staticfiles.json").exists()
    hashed = staticfiles_storage.url("vendor/chartjs/chart.umd.min.js")
    assert (
        hashed.startswith("/static/vendor/chartjs/chart.umd.min.")
        and hashed != "/static/vendor/chartjs/chart.umd.min.js"
    )
