from io import StringIO

import pytest
from django.core.management import call_command

from scoring.models import ModelVersion

pytestmark = pytest.mark.django_db

SMALL = ["--accounts", "150", "--days", "7", "--trees", "20", "--seed", "9"]


def test_trains_promotes_and_reports_held_out_metrics():
    out = StringIO()
    call_command("train_model", *SMALL, stdout=out)

    model_version = ModelVersion.objects.get()
    assert model_version.status == ModelVersion.Status.CHAMPION
    output = out.getvalue()
    assert "Registered model v1 (champion)" in output
    holdout = model_version.metrics["holdout"]
    assert f"precision {holdout['precision']:.3f}" in output
    assert f"recall {holdout['recall']:.3f}" in output
    assert f"F1 {holdout['f1']:.3f}" in output
    assert f"alert rate {holdout['alert_rate']:.2%}" in output
    assert "recall on structuring" in output


def test_no_promote_registers_a_candidate():
    call_command("train_model", *SMALL, stdout=StringIO())
    out = StringIO()
    call_command("train_model", *SMALL, "--no-promote", stdout=out)

    assert "Registered model v2 (candidate)" in out.getvalue()
    assert ModelVersion.objects.get(status=ModelVersion.Status.CHAMPION).version == 1
