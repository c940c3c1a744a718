"""Workspace pages: worklist filters and counts, case page evidence, dashboard; constant query counts."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.models import Case
from cases.services import case_assign, case_comment
from cases.tests.conftest import flagged_decisions

pytestmark = pytest.mark.django_db


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(ctx.captured_queries)


def test_worklist_queues_filters_and_status_counts(client, personas, open_case):
    mine = open_case("a-1", risk_level="CRITICAL")
    other = open_case("a-2", risk_level="MEDIUM")
    open_case("b-1")
    case_assign(case=mine, assignee=personas["alice"], actor=personas["alice"])
    client.force_login(personas["alice"])
    page = client.get("/cases/").content.decode()
    assert mine.reference in page and other.reference in page
    assert "CASE" in page and "b-1" not in page
    only_mine = client.get("/cases/?queue=mine").content.decode()
    assert mine.reference in only_mine and other.reference not in only_mine
    unassigned = client.get("/cases/?queue=unassigned").content.decode()
    assert other.reference in unassigned and mine.reference not in unassigned
    critical = client.get("/cases/?severity=critical").content.decode()
    assert mine.reference in critical and other.reference not in critical
    by_account = client.get("/cases/?q=a-2").content.decode()
    assert other.reference in by_account and mine.reference not in by_account
    response = client.get("/cases/?ordering=severity")
    assert ("new", "New", 2) in response.context["worklist"].status_counts
    refs = [c.reference for c in response.context["worklist"].page.object_list]
    assert refs == [mine.reference, other.reference]
    fragment = client.get("/cases/?queue=mine", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and mine.reference in fragment


def test_bulk_assign(client, personas, open_case):
    cases = [open_case(f"a-{i}") for i in range(3)]
    client.force_login(personas["alice"])
    client.post("/cases/bulk-assign", {"reference": [c.reference for c in cases], "assignee": "alice"})
    assert Case.objects.filter(assignee=personas["alice"]).count() == 3


def test_worklist_query_count_does_not_grow_with_the_page(client, personas, open_case, django_assert_num_queries):
    client.force_login(personas["alice"])
    for i in range(3):
        open_case(f"a-{i}")
    small = queries(client, "/cases/")
    for i in range(3, 30):
        open_case(f"a-{i}", n=2)
    with django_assert_num_queries(small):
        client.get("/cases/")
    with django_assert_num_queries(small):
        client.get("/cases/?queue=team&severity=high&ordering=-sla")


def test_case_page_query_count_does_not_grow_with_transactions_or_comments(
    client, personas, open_case, model_version, django_assert_num_queries
):
    client.force_login(personas["alice"])
    case = open_case("a-1", n=1)
    case_comment(case=case, body="first look", author=personas["alice"])
    small = queries(client, f"/cases/{case.reference}/")
    from cases.services import open_cases_for_decisions

    open_cases_for_decisions(decisions=flagged_decisions(model_version, account_id="a-1", n=25), actor="tests")
    for i in range(5):
        case_comment(case=case, body=f"note {i} @alice", author=personas["alice"])
    with django_assert_num_queries(small):
        client.get(f"/cases/{case.reference}/")


def test_case_page_shows_evidence_rule_hits_and_pending_explanation(client, personas, open_case):
    hit = [
        {
            "rule": "sanctions",
            "name": "Sanctioned country",
            "action": "flag",
            "risk_level": "HIGH",
            "reason": "counterparty in a sanctioned country",
        }
    ]
    case = open_case("a-1", rule_hits=hit, n=2)
    client.force_login(personas["alice"])
    page = client.get(f"/cases/{case.reference}/").content.decode()
    assert "Sanctioned country" in page and "counterparty in a sanctioned country" in page
    assert "Explanation not computed yet" in page
    assert "/claim" in page and "Add comment" in page


def test_case_page_renders_the_shap_contributions_when_present(client, personas, open_case):
    case = open_case("a-1")
    decision = case.transactions.first().decision
    decision.explanation = {
        "method": "tree_shap",
        "base_value": 0.1,
        "contributions": [
            {
                "feature": "mcc_risk",
                "label": "Merchant category risk",
                "value": 0.9,
                "contribution": 0.31,
                "text": "Quasi-cash merchant pushes towards anomalous",
            },
            {
                "feature": "hour_sin",
                "label": "Time of day",
                "value": 0.2,
                "contribution": -0.05,
                "text": "Daytime pushes towards normal",
            },
        ],
    }
    decision.save()
    client.force_login(personas["alice"])
    page = client.get(f"/cases/{case.reference}/").content.decode()
    assert "data-shap-chart" in page and "Quasi-cash merchant pushes towards anomalous" in page
    assert f'id="shap-{decision.pk}"' in page
    assert "Explanation not computed yet" not in page
    assert 'data-testid="supervised-explanation"' not in page  # an unsupervised version's explanation


def test_case_page_renders_the_supervised_contributions_when_present(client, personas, open_case):
    case = open_case("a-1")
    decision = case.transactions.first().decision
    text = "9 other transactions by this account in the last hour (raises the risk)"
    contribution = {"feature": "count_1h", "label": "Transactions in the last hour", "value": 9.0,
                    "contribution": 1.7, "text": text}  # fmt: skip
    decision.explanation = {
        "method": "tree_shap:isolation_forest_path_length",
        "base_value": 8.1,
        "contributions": [{**contribution, "contribution": 0.4, "text": "forest: many recent transactions"}],
        "supervised": {
            "method": "tree_shap:hist_gradient_boosting_log_odds",
            "base_value": -4.2,
            "contributions": [contribution],
        },
    }
    decision.save()
    client.force_login(personas["alice"])
    page = client.get(f"/cases/{case.reference}/").content.decode()
    assert 'data-testid="supervised-explanation"' in page and "hist_gradient_boosting_log_odds" in page
    assert text in page
    assert "forest: many recent transactions" in page


def test_similar_cases_fragment_lists_closed_neighbours_with_outcomes(client, personas, open_case):
    from cases.services import case_close

    near = open_case("a-10", risk_level="MEDIUM", features=[5.0, 1.0, 0.5])
    far = open_case("a-11", risk_level="MEDIUM", features=[-50.0, 9.0, 7.0])
    hidden = open_case("b-10", risk_level="MEDIUM", features=[5.0, 1.0, 0.5])
    for c, outcome in ((near, "confirmed_fraud"), (far, "false_positive"), (hidden, "confirmed_fraud")):
        case_close(case=c, outcome=outcome, rationale="r", actor=personas["carol"])
    case = open_case("a-12", features=[5.1, 1.0, 0.5])
    client.force_login(personas["alice"])
    response = client.get(f"/cases/{case.reference}/similar")
    similar = response.context["similar"]
    assert [s.case.reference for s in similar] == [near.reference, far.reference]
    assert "Confirmed fraud" in response.content.decode()
    assert hidden.reference not in response.content.decode()  # another team's case is never suggested


def test_dashboard_figures_are_scoped_and_list_models(client, personas, open_case, model_version):
    cache.clear()
    open_case("a-1", risk_level="HIGH")
    open_case("b-1", risk_level="CRITICAL")
    client.force_login(personas["alice"])
    response = client.get("/")
    data = response.context["data"]
    assert data["open_total"] == 1
    assert data["open_by_severity"]["high"] == 1 and data["open_by_severity"]["critical"] == 0
    assert data["leaderboard"][0]["version"] == 1 and data["leaderboard"][0]["f1"] == 0.67
    assert data["leaderboard"][0]["average_precision"] == 0.58  # the PR-AUC training stores
    assert "<td>0.58</td>" in response.content.decode()
    assert data["last_day"]["flagged"] == 2
    assert b"vendor/chartjs/chart.umd.min.js" in response.content
    assert data["drift"]["status"] == "none" and "No drift check has run yet" in response.content.decode()
    client.force_login(personas["carol"])
    assert client.get("/").context["data"]["open_total"] == 2


def test_dashboard_shows_the_latest_drift_report_with_the_features_that_moved_most(client, personas, model_version):
    from scoring.models import DriftReport

    cache.clear()
    results = {
        "score": {"psi": 0.31, "ks": 0.22, "ks_pvalue": 0.0001, "drifted": True},
        "amount_log": {"psi": 0.45, "ks": 0.3, "ks_pvalue": 0.0, "drifted": True},
        "hour_sin": {"psi": 0.01, "ks": 0.02, "ks_pvalue": 0.9, "drifted": False},
    }
    DriftReport.objects.create(model_version=model_version, created_at=timezone.now(), window_size=500,
                               results=results, drifted_features=["amount_log"], is_drifted=True)  # fmt: skip
    client.force_login(personas["alice"])
    response = client.get("/")
    drift = response.context["data"]["drift"]
    assert drift["status"] == "drifted"
    assert [f["name"] for f in drift["latest"]["top_features"]] == ["amount_log", "hour_sin"]
    panel = response.content.decode().split('data-testid="drift"')[1].split("</section>")[0]
    assert "drifted" in panel and "amount_log" in panel and "0.450" in panel and "last 500 decisions" in panel


def test_dashboard_shows_the_alert_budget_and_the_recalibrations(client, personas, model_version):
    from scoring.models import ThresholdCalibration

    cache.clear()
    now = timezone.now()
    ThresholdCalibration.objects.create(
        model_version=model_version, status=ThresholdCalibration.Status.PROPOSED, created_at=now,
        previous={"medium": 0.95, "high": 0.985, "critical": 0.996},
        thresholds={"medium": 0.96, "high": 0.995, "critical": 0.998},
        target={"medium": 0.97, "high": 0.999, "critical": 0.999}, window_start=now, window_end=now,
        n_decisions=20_000, observed_alert_rate=0.0457, expected_alert_rate=0.021, alert_budget=0.015,
        largest_move=0.02,
    )  # fmt: skip
    client.force_login(personas["alice"])
    panel = client.get("/").content.decode().split('data-testid="alert-budget"')[1].split("</section>")[0]
    assert "0.0150" in panel and "0.9850" in panel and "0.9950" in panel and "0.0457" in panel
    assert "needs four-eyes" in panel and "20000" in panel


def test_approvals_queue_lists_pending_closures_for_compliance(client, personas, open_case):
    from cases.services import case_close

    case = open_case("a-1", risk_level="HIGH")
    case_close(case=case, outcome="confirmed_fraud", rationale="card testing", actor=personas["alice"])
    client.force_login(personas["carol"])
    page = client.get("/approvals/").content.decode()
    assert case.reference in page and "card testing" in page
    approval = case.approvals.get()
    client.post(f"/approvals/case_closure/{approval.pk}/approve", {"note": "ok"})
    case.refresh_from_db()
    assert case.status == "closed"


def test_login_locks_out_after_repeated_failures(client, personas, settings):
    alice = personas["alice"]
    alice.set_password("correct horse battery staple")
    alice.save()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "alice", "password": "correct horse battery staple"})
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session


def test_login_works(client, personas):
    alice = personas["alice"]
    alice.set_password("correct horse battery staple")
    alice.save()
    response = client.post("/accounts/login/", {"username": "alice", "password": "correct horse battery staple"})
    assert response.status_code == 302 and response["Location"] == "/cases/"
    assert client.get("/cases/").status_code == 200


def test_mentions_inbox_lists_mentions_and_the_case_page_marks_them_read(client, personas, open_case):
    case = open_case("a-1")
    case_comment(case=case, body="@carol can you approve the SAR draft?", author=personas["alice"])
    client.force_login(personas["carol"])
    inbox = client.get("/mentions/").content.decode()
    assert case.reference in inbox and "approve the SAR draft" in inbox and 'class="unread"' in inbox
    page = client.get(f"/cases/{case.reference}/").content.decode()
    assert 'class="unread"' in client.get("/mentions/").content.decode()  # reading a page writes nothing
    assert f'hx-post="/cases/{case.reference}/mentions/read" hx-trigger="load"' in page
    assert client.get(f"/cases/{case.reference}/mentions/read").status_code == 405
    assert client.post(f"/cases/{case.reference}/mentions/read").status_code == 204  # what the page then sends
    assert 'class="unread"' not in client.get("/mentions/").content.decode()
    client.force_login(personas["bob"])
    assert case.reference not in client.get("/mentions/").content.decode()


def test_case_page_reads_no_model_artifacts_or_references_with_its_decisions(client, personas, open_case):
    case = open_case("a-1", n=3)
    client.force_login(personas["alice"])
    with CaptureQueriesContext(connection) as context:
        page = client.get(f"/cases/{case.reference}/")
    assert page.status_code == 200 and case.reference in page.content.decode()
    sql = " ".join(query["sql"] for query in context.captured_queries)
    assert "scoring_modelversion" in sql  # the decisions' versions are shown
    for column in ('"artifact"', "explainer_artifact", "score_reference", "drift_reference"):
        assert column not in sql, column
