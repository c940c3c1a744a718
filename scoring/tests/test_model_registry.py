import hashlib
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model

from audit.models import AuditEvent
from scoring.features import FEATURE_NAMES
from scoring.generator import DEFAULT_START
from scoring.models import ModelVersion
from scoring.services import model_promote, model_train
from scoring.tests.conftest import SMALL_TRAINING

pytestmark = pytest.mark.django_db
Status = ModelVersion.Status


@pytest.fixture
def officer():
    return get_user_model().objects.create_user(username="olivia", password=None)


def test_first_model_becomes_champion_with_a_complete_registry_entry(officer):
    model_version = model_train(seed=3, actor=officer, **SMALL_TRAINING)

    model_version.refresh_from_db()
    assert (model_version.version, model_version.status) == (1, Status.CHAMPION)
    assert model_version.algorithm == "ensemble:isolation_forest+pca_autoencoder"
    assert hashlib.sha256(bytes(model_version.artifact)).hexdigest() == model_version.artifact_sha256
    assert model_version.feature_names == list(FEATURE_NAMES)
    assert model_version.params["isolation_forest"]["n_estimators"] == SMALL_TRAINING["n_estimators"]
    assert model_version.params["training_data"]["seed"] == 3
    assert {len(r) for r in model_version.score_reference.values()} == {1001}
    assert model_version.explainer_artifact and model_version.drift_reference["features"]
    assert (
        0 < model_version.thresholds["medium"] < model_version.thresholds["high"] < model_version.thresholds["critical"]
    )
    assert DEFAULT_START <= model_version.training_window_start < model_version.training_window_end
    assert model_version.training_window_end < DEFAULT_START + timedelta(days=SMALL_TRAINING["days"])
    assert model_version.training_size > 1000
    holdout = model_version.metrics["holdout"]
    assert {"precision", "recall", "f1", "alert_rate", "n", "n_fraud", "recall_by_pattern"} <= set(holdout)
    assert holdout["n_fraud"] > 0
    assert (model_version.created_by, model_version.promoted_by) == (officer, officer)
    assert model_version.promoted_at is not None


def test_a_new_champion_retires_the_previous_one(officer):
    first = model_train(seed=3, actor="tests", **SMALL_TRAINING)
    second = model_train(seed=4, actor=officer, **SMALL_TRAINING)

    first.refresh_from_db()
    assert (first.status, second.status) == (Status.RETIRED, Status.CHAMPION)
    assert second.version == first.version + 1
    assert list(ModelVersion.objects.filter(status=Status.CHAMPION)) == [second]

    promoted = AuditEvent.objects.filter(action="model.promoted").order_by("id")
    assert [e.payload["version"] for e in promoted] == [1, 2]
    assert promoted.last().payload["previous_versions"] == [1]
    assert promoted.last().actor == "user:olivia"
    trained = AuditEvent.objects.filter(action="model.trained", object_type="scoring.ModelVersion")
    assert sorted(trained.values_list("object_id", flat=True)) == sorted([str(first.pk), str(second.pk)])


def test_without_promotion_the_champion_stays(officer):
    champion = model_train(seed=3, **SMALL_TRAINING)
    candidate = model_train(seed=4, make_champion=False, **SMALL_TRAINING)

    assert candidate.status == Status.CANDIDATE
    assert ModelVersion.objects.get(status=Status.CHAMPION) == champion
    assert not AuditEvent.objects.filter(action="model.promoted", object_id=str(candidate.pk)).exists()
    assert AuditEvent.objects.filter(action="model.trained", object_id=str(candidate.pk)).exists()


def test_promote_rolls_back_to_an_older_version(officer):
    first = model_train(seed=3, **SMALL_TRAINING)
    second = model_train(seed=4, **SMALL_TRAINING)

    model_promote(model_version=first, actor=officer)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (Status.CHAMPION, Status.RETIRED)
    assert first.promoted_by == officer


def test_promoting_the_champion_again_changes_nothing():
    champion = model_train(seed=3, **SMALL_TRAINING)
    events = AuditEvent.objects.count()

    model_promote(model_version=champion, actor="tests")

    assert AuditEvent.objects.count() == events
    assert ModelVersion.objects.get(status=Status.CHAMPION) == champion


def test_same_seed_gives_the_same_artifact():
    first = model_train(seed=5, make_champion=False, **SMALL_TRAINING)
    second = model_train(seed=5, make_champion=False, **SMALL_TRAINING)
    assert first.artifact_sha256 == second.artifact_sha256
    assert first.version != second.version
