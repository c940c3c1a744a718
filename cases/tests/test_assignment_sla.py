"""Auto-assignment (round-robin, least-loaded, availability) and the SLA watch (warn, breach, escalate)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from cases.models import Case, CaseEvent, Team
from cases.services import availability_set, case_auto_assign, sla_sweep
from delivery.models import OutboxEvent
from notifications.models import Kind, Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def squad(personas, make_user, teams):
    """Team A assigns round-robin among alice, anna and axel; victor (a viewer) never gets cases."""
    team_a, _ = teams
    anna, axel = make_user("analyst", "anna"), make_user("analyst", "axel")
    team_a.members.add(anna, axel)
    team_a.assignment = Team.Assignment.ROUND_ROBIN
    team_a.save()
    return team_a, [personas["alice"], anna, axel]


def test_round_robin_goes_round_the_available_members(squad, open_case):
    _team, people = squad
    assigned = [case_auto_assign(case=open_case(f"a-{n}")).assignee for n in range(4)]
    assert assigned == [*people, people[0]]
    event = CaseEvent.objects.filter(kind="assigned").order_by("id").first()
    assert event.actor == "system:auto-assignment" and event.data["auto"] == "round_robin"
    assert Notification.objects.filter(kind=Kind.ASSIGNMENT).count() == 4


def test_out_of_office_and_unavailable_members_are_skipped(squad, open_case):
    _team, (alice, anna, axel) = squad
    availability_set(user=anna, actor=anna, is_available=True, out_of_office_until=timezone.now() + timedelta(days=3))
    availability_set(user=axel, actor=axel, is_available=False)
    assert [case_auto_assign(case=open_case(f"a-{n}")).assignee for n in range(2)] == [alice, alice]
    assert AuditEvent.objects.filter(action="availability.set").count() == 2
    availability_set(user=alice, actor=alice, is_available=False)
    case = open_case("a-9")
    assert case_auto_assign(case=case) is None  # nobody takes cases: it waits in the queue
    assert Case.objects.get(pk=case.pk).assignee is None


def test_least_loaded_picks_the_member_with_fewest_open_cases(squad, open_case, personas):
    team, (alice, anna, axel) = squad
    team.assignment = Team.Assignment.LEAST_LOADED
    team.save()
    from cases.services import case_assign

    for n, person in enumerate([alice, alice, anna]):
        case_assign(case=open_case(f"a-load-{n}"), assignee=person, actor=personas["carol"])
    assert case_auto_assign(case=open_case("a-new")).assignee == axel
    assert case_auto_assign(case=open_case("a-new-2")).assignee in {anna, axel}


def test_a_team_that_assigns_by_hand_is_left_alone(personas, open_case):
    assert case_auto_assign(case=open_case("a-1")) is None


def test_setting_someone_elses_availability_needs_the_assign_permission(squad, personas):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        availability_set(user=personas["bob"], actor=personas["victor"], is_available=False)
    availability_set(user=personas["bob"], actor=personas["carol"], is_available=False)


def test_sla_warning_tells_assignee_and_lead_once(personas, open_case, teams):
    team_a, _ = teams
    team_a.lead = personas["carol"]
    team_a.save()
    case = open_case("a-1", risk_level="CRITICAL")  # 4 h SLA: inside the warning window at once
    from cases.services import case_assign

    case_assign(case=case, assignee=personas["alice"], actor=personas["alice"])
    assert sla_sweep()["warned"] == 1
    assert sla_sweep()["warned"] == 0
    told = sorted(n.user.username for n in Notification.objects.filter(kind=Kind.SLA))
    assert told == ["alice", "carol"]
    event = CaseEvent.objects.get(case=case, kind="sla_warning")
    assert event.data["notified"] == ["alice", "carol"]
    assert AuditEvent.objects.filter(action="case.sla_warning", object_id=case.reference).exists()


def test_sla_breach_escalates_to_the_teams_escalation_target(personas, open_case, teams):
    team_a, team_b = teams
    team_a.escalation_team = team_b
    team_a.lead = personas["carol"]
    team_a.save()
    team_b.lead = personas["dave"]
    team_b.save()
    case = open_case("a-1")
    from cases.services import case_assign

    case_assign(case=case, assignee=personas["alice"], actor=personas["alice"])
    later = case.sla_due_at + timedelta(minutes=1)
    assert sla_sweep(now=later)["breached"] == 1
    case.refresh_from_db()
    assert (case.status, case.team, case.assignee) == ("escalated", team_b, None)
    event = CaseEvent.objects.get(case=case, kind="sla_breached")
    assert event.data["escalated_to"] == "team-b" and event.data["unassigned"] == "alice"
    told = {n.user.username for n in Notification.objects.filter(kind=Kind.SLA)}
    assert told == {"alice", "carol", "dave"}
    published = OutboxEvent.objects.get(event_type="case.sla_breached", payload__reference=case.reference)
    assert published.payload["escalated_to"] == "team-b"
    assert sla_sweep(now=later)["breached"] == 0  # handled once
    assert Case.objects.visible_to(personas["bob"]).filter(pk=case.pk).exists()  # team B sees it now


def test_a_breach_without_escalation_target_is_recorded_and_the_case_stays(personas, open_case):
    case = open_case("a-1")
    sla_sweep(now=case.sla_due_at + timedelta(seconds=1))
    case.refresh_from_db()
    assert case.sla_breached_at is not None and case.status == "new" and case.team.slug == "team-a"


def test_the_sweep_assigns_what_waits_in_an_auto_assigning_team(squad, open_case):
    case = open_case("a-1")
    assert sla_sweep()["assigned"] == 1
    assert Case.objects.get(pk=case.pk).assignee is not None


def test_new_cases_of_an_auto_assigning_team_are_assigned_after_commit(
    squad, open_case, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with django_capture_on_commit_callbacks(execute=True):
        case = open_case("a-7")
    assert Case.objects.get(pk=case.pk).assignee == squad[1][0]


def test_availability_page_and_api(client, personas):
    client.force_login(personas["alice"])
    assert "You take automatically assigned cases now" in client.get("/availability/").content.decode()
    client.post("/availability/", {"note": "training"})
    assert "You take no automatically" in client.get("/availability/").content.decode()
    assert client.get("/api/v1/availability/").json()["is_available"] is False
    body = client.put("/api/v1/availability/", {"is_available": True}, content_type="application/json").json()
    assert body["is_available"] is True
    past = client.put(
        "/api/v1/availability/",
        {"is_available": True, "out_of_office_until": "2000-01-01T00:00:00Z"},
        content_type="application/json",
    )
    assert past.status_code == 400
    client.force_login(personas["victor"])
    assert client.get("/availability/").status_code == 403
    assert client.get("/api/v1/availability/").status_code == 403
