"""Closing checklists: admins define them per outcome and minimum severity; a case cannot be proposed for
closure until the required items are ticked; each tick records who and when."""

import pytest

from audit.models import AuditEvent
from cases.models import Case, CaseEvent, ChecklistItem, ChecklistTick, ClosingChecklist
from cases.services import case_close
from cases.services.checklists import checklist_tick
from delivery.models import OutboxEvent
from kernel.errors import Conflict

pytestmark = pytest.mark.django_db


@pytest.fixture
def sar_checklist(db):
    checklist = ClosingChecklist.objects.create(name="SAR filing", outcome="sar_filed", min_severity="high")
    items = [
        ChecklistItem.objects.create(checklist=checklist, text=text, position=i)
        for i, text in enumerate(["Subject identified", "Narrative written", "Supervisor informed"])
    ]
    ChecklistItem.objects.create(checklist=checklist, text="Extra notes", position=9, is_required=False)
    return checklist, items


def test_closure_waits_for_the_required_items_and_records_who_ticked_them(client, personas, open_case, sar_checklist):
    _, items = sar_checklist
    case = open_case("a-1", risk_level="HIGH")
    alice = personas["alice"]
    with pytest.raises(Exception) as refused:
        case_close(case=case, outcome="sar_filed", rationale="Structuring", actor=alice)
    assert "Subject identified; Narrative written; Supervisor informed" in str(refused.value)
    case.refresh_from_db()
    assert case.status != Case.Status.PENDING_APPROVAL
    for item in items:
        checklist_tick(case=case, item=item, actor=alice)
    tick = ChecklistTick.objects.get(case=case, item=items[0])
    assert tick.ticked_by == alice and tick.ticked_at is not None
    ticked = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.CHECKLIST_TICKED)
    assert [e.data["item"] for e in ticked] == ["Subject identified", "Narrative written", "Supervisor informed"]
    assert AuditEvent.objects.filter(action="case.checklist_ticked", object_id=case.reference).count() == 3
    assert OutboxEvent.objects.filter(event_type="case.checklist_ticked").count() == 3
    case_close(case=case, outcome="sar_filed", rationale="Structuring", actor=alice)
    case.refresh_from_db()
    assert case.status == Case.Status.PENDING_APPROVAL
    proposed = CaseEvent.objects.get(case=case, kind=CaseEvent.Kind.CLOSURE_PROPOSED)
    assert [t["item"] for t in proposed.data["checklist"]] == [i.text for i in items]
    assert proposed.data["checklist"][0]["ticked_by"] == "alice"


def test_a_checklist_applies_by_outcome_and_severity(personas, open_case, sar_checklist):
    low = open_case("a-1", risk_level="MEDIUM")
    # A SAR checklist for HIGH and above does not hold back a medium case, nor another outcome.
    case_close(case=low, outcome="no_action", rationale="Explained", actor=personas["alice"])
    high = open_case("a-2", risk_level="HIGH")
    case_close(case=high, outcome="false_positive", rationale="Known customer", actor=personas["alice"])
    high.refresh_from_db()
    assert high.status == Case.Status.PENDING_APPROVAL  # four-eyes, but no checklist in the way


def test_the_checklist_page_ticks_and_the_api_reports(client, personas, open_case, sar_checklist):
    _, items = sar_checklist
    case = open_case("a-1", risk_level="CRITICAL")
    client.force_login(personas["alice"])
    fragment = client.get(f"/cases/{case.reference}/checklist/").content.decode()
    assert "Subject identified" in fragment and f'data-tick="{items[0].pk}"' in fragment
    response = client.post(f"/cases/{case.reference}/checklist/{items[0].pk}/tick")
    assert response.status_code == 302
    again = client.post(f"/api/v1/cases/{case.reference}/checklist/{items[0].pk}/tick")
    assert again.status_code == 409 and again.json()["code"] == "already_ticked"
    api = client.post(f"/api/v1/cases/{case.reference}/checklist/{items[1].pk}/tick")
    assert api.status_code == 201 and api.json()["ticked_by"] == "alice"
    state = client.get(f"/api/v1/cases/{case.reference}/checklist/").json()
    assert state[0]["complete"] is False
    assert [i["ticked_by"] for i in state[0]["items"]] == ["alice", "alice", None, None]
    closing = client.post(
        f"/api/v1/cases/{case.reference}/close/",
        {"outcome": "sar_filed", "rationale": "Structuring"},
        content_type="application/json",
    )
    assert closing.status_code == 400 and "Supervisor informed" in str(closing.json())


def test_a_viewer_cannot_tick_and_another_team_cannot_see(client, personas, open_case, sar_checklist):
    _, items = sar_checklist
    case = open_case("a-1", risk_level="HIGH")
    client.force_login(personas["victor"])
    assert client.post(f"/cases/{case.reference}/checklist/{items[0].pk}/tick").status_code == 403
    assert client.post(f"/api/v1/cases/{case.reference}/checklist/{items[0].pk}/tick").status_code == 403
    assert "data-tick" not in client.get(f"/cases/{case.reference}/checklist/").content.decode()
    client.force_login(personas["bob"])
    assert client.post(f"/cases/{case.reference}/checklist/{items[0].pk}/tick").status_code == 404
    assert client.get(f"/api/v1/cases/{case.reference}/checklist/").status_code == 404
    assert not ChecklistTick.objects.exists()


def test_a_frozen_case_checklist_does_not_change(personas, open_case, sar_checklist):
    _, items = sar_checklist
    case = open_case("a-1", risk_level="HIGH")
    case_close(case=case, outcome="false_positive", rationale="Known", actor=personas["alice"])
    case.refresh_from_db()
    with pytest.raises(Conflict):
        checklist_tick(case=case, item=items[0], actor=personas["alice"])


def test_admins_define_checklists_in_admin(client, make_user):
    admin_user = make_user("org_admin", "olga")
    admin_user.is_staff = True
    admin_user.save()
    client.force_login(admin_user)
    response = client.post(
        "/admin/cases/closingchecklist/add/",
        {
            "name": "False positive",
            "outcome": "false_positive",
            "min_severity": "medium",
            "is_active": "on",
            "items-TOTAL_FORMS": "1",
            "items-INITIAL_FORMS": "0",
            "items-0-position": "1",
            "items-0-text": "Customer confirmed the payment",
            "items-0-is_required": "on",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    checklist = ClosingChecklist.objects.get(name="False positive")
    assert list(checklist.items.values_list("text", flat=True)) == ["Customer confirmed the payment"]
    assert checklist.history.count() == 1
