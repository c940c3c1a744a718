"""Case.peak_severity: the highest severity each case has had, from its history (four-eyes follows it)."""

from django.db import migrations, models

ORDER = {"low": 0, "medium": 1, "high": 2, "critical": 3}


def fill_peaks(apps, schema_editor):
    case_model = apps.get_model("cases", "Case")
    peaks = dict(case_model.objects.values_list("pk", "severity"))
    for case_id, severity in apps.get_model("cases", "HistoricalCase").objects.values_list("id", "severity").iterator():
        if case_id in peaks and ORDER.get(severity, -1) > ORDER[peaks[case_id]]:
            peaks[case_id] = severity
    for severity in ORDER:
        ids = [pk for pk, peak in peaks.items() if peak == severity]
        for start in range(0, len(ids), 5000):
            case_model.objects.filter(pk__in=ids[start : start + 5000]).update(peak_severity=severity)


class Migration(migrations.Migration):
    dependencies = [("cases", "0004_approvals_on_the_four_eyes_model")]

    operations = [
        migrations.AddField(
            model_name="case",
            name="peak_severity",
            field=models.CharField(
                choices=[("low", "Low"), ("medium", "Medium"), ("high", "High"), ("critical", "Critical")],
                default="low",
                help_text="The highest severity the case has had; four-eyes on its closure follows this, not the current one.",
                max_length=8,
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="historicalcase",
            name="peak_severity",
            field=models.CharField(
                choices=[("low", "Low"), ("medium", "Medium"), ("high", "High"), ("critical", "Critical")],
                default="low",
                help_text="The highest severity the case has had; four-eyes on its closure follows this, not the current one.",
                max_length=8,
            ),
            preserve_default=False,
        ),
        migrations.RunPython(fill_peaks, migrations.RunPython.noop),
    ]
