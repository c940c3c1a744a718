"""Merging duplicate cases, and the worklist's bulk transition, escalation and close as false positive."""

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile

from approvals.services import approval_decide
from audit.models import AuditEvent
from cases.models import Approval, Attachment, Case, CaseEvent, CaseTransaction, Comment
from cases.services import case_comment
from cases.services.attachments import attachment_add
from cases.services.merging import case_merge, cases_bulk_change
from delivery.models import OutboxEvent
from kernel.errors import Conflict
from scoring.models import Label, Transaction

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def private_storage(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }


def test_a_merge_moves_everything_to_the_survivor_and_the_duplicate_points_to_it(client, personas, open_case):
    alice = personas["alice"]
    survivor = open_case("a-1", risk_level="MEDIUM")
    duplicate = open_case("a-1-linked", n=2, risk_level="HIGH")
    comment = case_comment(case=duplicate, body="Same person, second account", author=alice)
    pdf = SimpleUploadedFile("id.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf")
    attachment = attachment_add(case=duplicate, upload=pdf, actor=alice)
    merged = case_merge(
        survivor=survivor, duplicates=[duplicate], reason="Linked accounts of one customer", actor=alice
    )
    duplicate.refresh_from_db()
    assert duplicate.status == Case.Status.CLOSED and duplicate.outcome == Case.Outcome.MERGED
    assert duplicate.merged_into == merged == survivor
    assert CaseTransaction.objects.filter(case=survivor).count() == 3
    assert not CaseTransaction.objects.filter(case=duplicate).exists()
    assert Comment.objects.get(pk=comment.pk).case_id == survivor.pk
    assert Attachment.objects.get(pk=attachment.pk).case_id == survivor.pk
    survivor.refresh_from_db()
    assert survivor.severity == "high" and survivor.peak_severity == "high"
    kinds = set(CaseEvent.objects.filter(case=survivor).values_list("kind", flat=True))
    assert {"merged", "commented", "attached", "opened"} <= kinds  # the duplicate's history came along
    on_survivor = CaseEvent.objects.filter(case=survivor, kind="merged").latest("id")
    assert on_survivor.data["merged"] == [duplicate.reference]
    assert on_survivor.data["moved"][duplicate.reference]["transactions"] == 2
    assert CaseEvent.objects.get(case=duplicate, kind="merged").data["into"] == survivor.reference
    assert AuditEvent.objects.filter(action="case.merged").count() == 2
    assert OutboxEvent.objects.filter(event_type="case.merged").count() == 2
    # Labels: a merged duplicate teaches the model nothing.
    assert set(Transaction.objects.values_list("label", flat=True)) == {Label.UNKNOWN}
    client.force_login(alice)
    response = client.get(f"/cases/{duplicate.reference}/")
    assert response.status_code == 302 and response["Location"] == f"/cases/{survivor.reference}/"


def test_merge_refusals(personas, open_case):
    alice = personas["alice"]
    one, two = open_case("a-1"), open_case("a-2", risk_level="HIGH")
    with pytest.raises(Exception, match="Say why"):
        case_merge(survivor=one, duplicates=[two], reason=" ", actor=alice)
    with pytest.raises(Exception, match="itself"):
        case_merge(survivor=one, duplicates=[one], reason="x", actor=alice)
    with pytest.raises(PermissionDenied):
        case_merge(survivor=one, duplicates=[two], reason="x", actor=personas["victor"])
    cases_bulk_change(cases=[two], action="close_false_positive", reason="Known", actor=alice)
    two.refresh_from_db()
    with pytest.raises(Conflict):
        case_merge(survivor=one, duplicates=[two], reason="x", actor=alice)


def test_worklist_merge_needs_visible_cases(client, personas, open_case):
    mine, theirs = open_case("a-1"), open_case("b-1")
    client.force_login(personas["alice"])
    response = client.post(
        "/cases/bulk", {"reference": [theirs.reference], "bulk_action": "merge", "into": mine.reference, "reason": "x"}
    )
    assert response.status_code == 302
    theirs.refresh_from_db()
    assert theirs.is_open and theirs.merged_into is None
    client.force_login(personas["bob"])
    client.post(
        "/cases/bulk", {"reference": [theirs.reference], "bulk_action": "merge", "into": mine.reference, "reason": "x"}
    )
    theirs.refresh_from_db()
    assert theirs.merged_into is None  # bob cannot see the case he names


def test_bulk_close_as_false_positive_asks_four_eyes_per_high_case(client, personas, open_case):
    low, medium = open_case("a-1", risk_level="LOW"), open_case("a-2", risk_level="MEDIUM")
    high, critical = open_case("a-3", risk_level="HIGH"), open_case("a-4", risk_level="CRITICAL")
    client.force_login(personas["alice"])
    response = client.post(
        "/cases/bulk",
        {
            "reference": [c.reference for c in (low, medium, high, critical)],
            "bulk_action": "close_false_positive",
            "reason": "Payroll run, known employer",
        },
        follow=True,
    )
    assert "2 closed, 2 proposed" in response.content.decode()
    for case in (low, medium, high, critical):
        case.refresh_from_db()
    assert low.status == medium.status == Case.Status.CLOSED and low.outcome == "false_positive"
    assert high.status == critical.status == Case.Status.PENDING_APPROVAL
    approvals = Approval.objects.filter(status=Approval.Status.PENDING)
    assert sorted(a.case.reference for a in approvals) == sorted([high.reference, critical.reference])
    assert Transaction.objects.filter(label=Label.LEGIT).count() == 2  # closed ones only, until approved
    approval_decide(approval=approvals.get(case=high), actor=personas["carol"], approve=True, note="Agreed")
    high.refresh_from_db()
    assert high.status == Case.Status.CLOSED and high.outcome == "false_positive"


def test_bulk_is_all_or_nothing_and_names_the_refused_case(client, personas, open_case):
    a, b = open_case("a-1"), open_case("a-2")
    cases_bulk_change(cases=[b], action="transition", status="investigating", reason="start", actor=personas["alice"])
    with pytest.raises(Conflict, match=b.reference):
        cases_bulk_change(
            cases=[a, b], action="transition", status="investigating", reason="go", actor=personas["alice"]
        )
    a.refresh_from_db()
    assert a.status == Case.Status.NEW


def test_bulk_escalate_and_transition_with_a_reason(client, personas, open_case, teams):
    _, team_b = teams
    a, b = open_case("a-1"), open_case("a-2")
    client.force_login(personas["alice"])
    client.post(
        "/cases/bulk",
        {
            "reference": [a.reference, b.reference],
            "bulk_action": "transition",
            "status": "triage",
            "reason": "Morning triage",
        },
    )
    a.refresh_from_db()
    assert a.status == "triage"
    assert CaseEvent.objects.filter(kind="status_changed", data__reason="Morning triage").count() == 2
    client.post(
        "/cases/bulk",
        {"reference": [a.reference, b.reference], "bulk_action": "escalate", "team": "team-b", "reason": "Wire team"},
    )
    b.refresh_from_db()
    assert b.status == "escalated" and b.team == team_b


def test_a_viewer_has_no_bulk_actions(client, personas, open_case):
    case = open_case("a-1")
    client.force_login(personas["victor"])
    response = client.post(
        "/cases/bulk", {"reference": [case.reference], "bulk_action": "close_false_positive", "reason": "x"}
    )
    assert response.status_code == 403
    case.refresh_from_db()
    assert case.is_open
    assert "bulk-actions" not in client.get("/cases/").content.decode()


def test_the_api_merges_and_bulk_closes(client, personas, open_case):
    survivor, duplicate = open_case("a-1", risk_level="LOW"), open_case("a-2", risk_level="LOW")
    high = open_case("a-3", risk_level="HIGH")
    client.force_login(personas["alice"])
    merged = client.post(
        f"/api/v1/cases/{survivor.reference}/merge",
        {"duplicates": [duplicate.reference], "reason": "Same customer"},
        content_type="application/json",
    )
    assert merged.status_code == 200 and merged.json()["merged"] == [duplicate.reference]
    bulk = client.post(
        "/api/v1/cases/bulk",
        {"references": [survivor.reference, high.reference], "action": "close_false_positive", "reason": "Known"},
        content_type="application/json",
    )
    assert bulk.status_code == 200 and bulk.json() == {"changed": 0, "closed": 1, "proposed": 1}
    hidden = open_case("b-1")
    refused = client.post(
        "/api/v1/cases/bulk",
        {"references": [hidden.reference], "action": "escalate", "team": "team-a", "reason": "x"},
        content_type="application/json",
    )
    assert refused.status_code == 404
    client.force_login(personas["victor"])
    viewer = client.post(
        "/api/v1/cases/bulk",
        {"references": [high.reference], "action": "transition", "status": "triage", "reason": "x"},
        content_type="application/json",
    )
    assert viewer.status_code == 403
