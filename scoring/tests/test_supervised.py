"""The supervised layer: HistGradientBoosting in the ONNX graph (parity with scikit-learn, missing values
included), its blend into the ensemble score, its SHAP explanations, and retraining that adds it only once
enough fraud labels exist, ranked against the unsupervised candidate on the same held-out window."""

import numpy as np
import pytest
from rest_framework.test import APIClient
from scipy.special import expit

from scoring.explainer import SUPERVISED_METHOD, _build, explain_rows
from scoring.features import FEATURE_NAMES, build_features
from scoring.generator import generate, records_to_transactions
from scoring.inference import SUPERVISED, make_session, normalise_scores, raw_component_scores
from scoring.models import Label, ModelVersion
from scoring.onnx_export import ensemble_graph
from scoring.services.monitoring import model_retrain
from scoring.services.registry import registry_fields, unsaved_scorer
from scoring.tests.test_monitoring import recent_traffic, store_scored
from scoring.training import (
    ENSEMBLE_WEIGHTS,
    ExportParityError,
    Labelled,
    check_parity,
    fit_detectors,
    fit_supervised,
    train_ensemble,
)


def labelled_traffic(seed, n_accounts=300, days=10):
    generated = generate(n_accounts=n_accounts, days=days, seed=seed)
    transactions = records_to_transactions(generated.records, source="tests")
    return transactions, build_features(transactions), np.asarray(generated.labels, dtype=bool)


@pytest.fixture(scope="module")
def trained():
    transactions, X, is_fraud = labelled_traffic(seed=41)
    detectors = fit_detectors(X[~is_fraud], seed=41, n_estimators=30)
    with_labels = train_ensemble(
        X[~is_fraud], seed=41, detectors=detectors, supervised=Labelled(X, is_fraud), supervised_weight=0.4
    )
    without = train_ensemble(X[~is_fraud], seed=41, detectors=detectors)
    txns = [t for t, fraud in zip(transactions, is_fraud, strict=True) if not fraud]
    fields = {
        name: registry_fields(model, txns, training_data={"tests": True}, actor=None)
        for name, model in (("supervised", with_labels), ("unsupervised", without))
    }
    return with_labels, without, fields, detectors


@pytest.fixture(scope="module")
def held_out():
    _, X, is_fraud = labelled_traffic(seed=42, n_accounts=200)
    X = X.copy()
    X[::7, FEATURE_NAMES.index("amount_zscore")] = np.nan  # missing values follow the trees' learned side
    X[::11, FEATURE_NAMES.index("count_1h")] = np.nan
    return X, is_fraud


def test_onnx_supervised_output_equals_scikit_learn_on_held_out_rows_with_missing_values(trained, held_out):
    model = trained[0]
    X, _ = held_out
    raw = raw_component_scores(make_session(model.onnx_bytes), X, ("isolation_forest", "autoencoder", SUPERVISED))
    expected = model.classifier.decision_function(X)
    assert np.isnan(X).any(axis=1).sum() > len(X) // 10
    np.testing.assert_allclose(raw[SUPERVISED], expected, rtol=0, atol=1e-4)
    np.testing.assert_allclose(expit(raw[SUPERVISED]), model.classifier.predict_proba(X)[:, 1], rtol=0, atol=1e-5)
    # the graph keeps the detectors' outputs as they were
    assert model.params["onnx_outputs"] == ["isolation_score", "reconstruction_error", "supervised_logit"]


def test_parity_check_rejects_an_export_that_differs(trained, held_out):
    model, _, _, detectors = trained
    X, is_fraud = _complete(held_out)
    other = fit_supervised(Labelled(X[:, ::-1].copy(), is_fraud), seed=2)  # another classifier
    shift = detectors.mean + detectors.scale * detectors.pca.mean_
    swapped = ensemble_graph(
        model.estimator, n_features=X.shape[1], shift=shift, scale=detectors.scale, pca=detectors.pca, supervised=other
    )
    with pytest.raises(ExportParityError, match="supervised"):
        check_parity(model.estimator, detectors.autoencoder, swapped, X, seed=1, classifier=model.classifier)
    check_parity(model.estimator, detectors.autoencoder, model.onnx_bytes, X, seed=1, classifier=model.classifier)


def _complete(held_out):
    """The rows without missing values (the unsupervised detectors never see NaN: features are complete)."""
    X, is_fraud = held_out
    complete = ~np.isnan(X).any(axis=1)
    return X[complete], is_fraud[complete]


def test_combined_score_blends_the_supervised_part_with_its_weight(trained, held_out):
    model, without, fields, _ = trained
    X, _ = _complete(held_out)
    assert model.params["ensemble_weights"] == {
        "isolation_forest": pytest.approx(ENSEMBLE_WEIGHTS["isolation_forest"] * 0.6),
        "autoencoder": pytest.approx(ENSEMBLE_WEIGHTS["autoencoder"] * 0.6),
        SUPERVISED: pytest.approx(0.4),
    }
    assert set(without.params["ensemble_weights"]) == {"isolation_forest", "autoencoder"}
    assert model.algorithm.endswith("+hist_gradient_boosting") and SUPERVISED not in without.params
    scorer = unsaved_scorer(fields["supervised"])
    raw = scorer.raw_scores(X)
    blended = sum(
        weight * normalise_scores(raw[name], model.score_reference[name])
        for name, weight in model.params["ensemble_weights"].items()
    )
    np.testing.assert_allclose(scorer.score(X), normalise_scores(blended, model.score_reference["ensemble"]))
    # the same detectors: the unsupervised version's parts are the same raw scores
    plain = unsaved_scorer(fields["unsupervised"])
    assert plain.components == ("isolation_forest", "autoencoder")
    np.testing.assert_allclose(plain.raw_scores(X)["isolation_forest"], raw["isolation_forest"])


def test_supervised_part_separates_fraud_better_than_chance(trained, held_out):
    model = trained[0]
    X, is_fraud = held_out
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(is_fraud, model.classifier.decision_function(X)) > 0.9


def test_explanations_cover_the_supervised_part(trained, held_out):
    model, _, fields, _ = trained
    X, _ = _complete(held_out)
    rows = X[:20]
    version = ModelVersion(version=0, **fields["supervised"])
    explanations = explain_rows(version, rows)
    assert all(e["method"].startswith("tree_shap:isolation_forest") for e in explanations)
    supervised = [e["supervised"] for e in explanations]
    assert all(s["method"] == SUPERVISED_METHOD and 0 < len(s["contributions"]) <= 6 for s in supervised)
    assert all(c["text"].endswith("the risk)") for s in supervised for c in s["contributions"])
    # every contribution of the classifier adds up to its log-odds (decision_function)
    _, explainer = _build(fields["supervised"]["explainer_artifact"])
    values = explainer.shap_values(rows.astype(np.float64), check_additivity=False)
    np.testing.assert_allclose(
        values.sum(axis=1) + supervised[0]["base_value"], model.classifier.decision_function(rows), atol=1e-4
    )
    plain = explain_rows(ModelVersion(version=0, pk=-1, **fields["unsupervised"]), rows[:2])
    assert "supervised" not in plain[0]


@pytest.mark.django_db
def test_retraining_adds_the_supervised_candidate_only_with_enough_fraud_labels(champion, settings, make_user):
    settings.RETRAIN_MIN_ROWS = 500
    transactions, generated = recent_traffic(seed=104, n_accounts=200, days=8)
    for txn, is_fraud in zip(transactions, generated.labels, strict=True):
        txn.label = Label.FRAUD if is_fraud else Label.LEGIT
    store_scored(transactions)
    ordered = sorted(transactions, key=lambda t: (t.occurred_at, t.pk))
    positives = sum(t.label == Label.FRAUD for t in ordered[: int(len(ordered) * 0.8)])
    assert positives >= 10

    settings.SUPERVISED_MIN_POSITIVES = positives + 1
    only = model_retrain(actor="tests", reason="too few labels", n_estimators=20)
    assert SUPERVISED not in only.params["ensemble_weights"] and only.params.get(SUPERVISED) is None
    assert set(only.metrics["comparison"]) == {"candidate", "champion"}
    assert ModelVersion.objects.filter(status=ModelVersion.Status.CANDIDATE).count() == 1

    settings.SUPERVISED_MIN_POSITIVES = positives
    settings.SUPERVISED_WEIGHT = 0.5
    supervised = model_retrain(actor="tests", reason="enough labels", n_estimators=20)
    assert supervised.params[SUPERVISED]["positives"] == positives
    assert supervised.params["ensemble_weights"][SUPERVISED] == pytest.approx(0.5)
    twin = ModelVersion.objects.get(version=supervised.version - 1)
    assert SUPERVISED not in twin.params["ensemble_weights"] and twin.status == ModelVersion.Status.CANDIDATE
    comparison = supervised.metrics["comparison"]
    assert set(comparison) == {"candidate", "candidate_supervised", "champion"}
    assert comparison == twin.metrics["comparison"]
    assert len({result["n"] for result in comparison.values()}) == 1  # one held-out window for all three
    assert len({result["n_fraud"] for result in comparison.values()}) == 1
    assert supervised.metrics["holdout"] == comparison["candidate_supervised"]
    assert twin.metrics["holdout"] == comparison["candidate"]
    assert supervised.status == ModelVersion.Status.CANDIDATE  # promotion stays four-eyes

    client = APIClient()
    client.force_authenticate(make_user("viewer"))
    board = client.get("/api/v1/models/").json()
    ranked = {row["version"]: i for i, row in enumerate(board)}
    assert {supervised.version, twin.version} <= set(ranked)
    f1 = {v: row["metrics"]["holdout"].get("f1", 0.0) for v, row in zip(ranked, board, strict=True)}
    assert (ranked[supervised.version] < ranked[twin.version]) == (f1[supervised.version] > f1[twin.version]) or (
        f1[supervised.version] == f1[twin.version]
    )


@pytest.mark.django_db
def test_model_trained_on_generated_labels_records_them(champion):
    from scoring.services import model_train

    version = model_train(n_accounts=150, days=7, seed=5, n_estimators=20, make_champion=False, supervised=True)
    assert version.status == ModelVersion.Status.CANDIDATE and SUPERVISED in version.params["ensemble_weights"]
    training = version.params["training_data"]
    assert (
        training["labels"] == "scoring.generator" and training["positives"] == version.params[SUPERVISED]["positives"]
    )
    assert training["generator"] == "scoring.generator"  # so evaluate_model --stress measures it
    assert "recall" in version.metrics["holdout"]


def test_supervised_evaluation_goes_with_the_stress_set_only():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="--stress"):
        call_command("evaluate_model", "--supervised")
