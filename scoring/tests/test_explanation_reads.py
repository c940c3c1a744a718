"""Explaining decisions reads each model version once and its SHAP trees only to build the explainer: not the
version's artifacts and references (~760 kB a row) with every decision."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import default_organisation, suspicious_record
from ingestion.services import ingest
from scoring import explainer
from scoring.models import Decision
from scoring.services.explanations import decisions_explain

pytestmark = pytest.mark.django_db

# The version's large columns as they appear in a query's select list ("artifact" quoted: not "explainer_artifact").
NEVER_READ = ('"artifact"', "score_reference", "drift_reference")


def _reading(context: CaptureQueriesContext, column: str) -> list[str]:
    return [query["sql"] for query in context.captured_queries if column in query["sql"]]


def test_explaining_reads_the_explainer_trees_once_per_process_and_never_the_other_heavy_fields(champion, monkeypatch):
    monkeypatch.setattr(explainer, "_explainers", {})  # no explainer built in this process yet
    ingest(
        [suspicious_record(i) for i in range(1, 7)], organisation=default_organisation(), source="bank", actor="tests"
    )
    flagged = list(Decision.objects.filter(flagged=True).order_by("pk").values_list("pk", flat=True))
    assert len(flagged) >= 4
    with CaptureQueriesContext(connection) as first:
        assert decisions_explain(transaction_ids=flagged[:2]) == 2
    with CaptureQueriesContext(connection) as later:
        assert decisions_explain(transaction_ids=flagged[2:]) == len(flagged) - 2
    assert len(_reading(first, "explainer_artifact")) == 1  # to build the explainer
    assert not _reading(later, "explainer_artifact")  # built: kept by the process
    for context in (first, later):
        for column in NEVER_READ:
            assert not _reading(context, column), column
    explained = Decision.objects.filter(pk__in=flagged).values_list("explanation", flat=True)
    assert all(explanation["contributions"] for explanation in explained)
