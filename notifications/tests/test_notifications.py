"""Notifications: who is told what (mentions, assignments, approvals), the bell, the page, the API, email."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from cases.services import case_assign, case_close, case_comment
from notifications.models import EmailMode, Kind, Notification
from notifications.selectors import unread_count
from notifications.services import (
    notification_digests_send,
    notification_preference_set,
    notification_send,
    notifications_mark_read,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def emails(personas):
    for person in personas.values():
        person.email = f"{person.username}@bank.example"
        person.save(update_fields=["email"])
    mail.outbox.clear()
    return personas


def test_a_mention_notifies_the_mentioned_person_not_the_author(personas, open_case):
    case = open_case("a-1")
    case_comment(case=case, body="@carol please look, cc @alice", author=personas["alice"])
    rows = list(Notification.objects.all())
    assert [(n.user.username, n.kind) for n in rows] == [("carol", Kind.MENTION)]
    assert rows[0].url == f"/cases/{case.reference}/"
    assert "alice mentioned you" in rows[0].title
    assert unread_count(personas["carol"]) == 1 and unread_count(personas["alice"]) == 0


def test_assigning_someone_else_notifies_them_and_claiming_does_not(personas, open_case):
    case = open_case("a-1")
    case_assign(case=case, assignee=personas["alice"], actor=personas["alice"])
    assert not Notification.objects.exists()
    case_assign(case=case, assignee=None, actor=personas["carol"])
    case_assign(case=case, assignee=personas["alice"], actor=personas["carol"])
    (row,) = Notification.objects.all()
    assert (row.user, row.kind) == (personas["alice"], Kind.ASSIGNMENT)


def test_a_closure_waiting_for_four_eyes_notifies_those_who_may_decide(personas, open_case):
    case = open_case("a-1", risk_level="HIGH")
    case_close(case=case, outcome="false_positive", rationale="known customer", actor=personas["carol"])
    told = {n.user.username for n in Notification.objects.filter(kind=Kind.APPROVAL)}
    assert told == {"dave"}  # not carol, who asked; not the analysts, who may not approve


def test_only_members_of_the_organisation_are_notified(personas, make_user, organisation):
    outsider = make_user("analyst", "olga", organisation=organisation)
    sent = notification_send(users=[personas["alice"], outsider], kind=Kind.SLA, title="SLA")
    assert [n.user for n in sent] == [personas["alice"]]
    with pytest.raises(Exception, match="Unknown kind"):
        notification_send(users=[personas["alice"]], kind="gossip", title="x")


def test_marking_read_touches_only_ones_own(personas):
    notification_send(users=[personas["alice"], personas["bob"]], kind=Kind.SLA, title="due soon")
    bobs = Notification.objects.get(user=personas["bob"])
    assert notifications_mark_read(user=personas["alice"], ids=[bobs.pk]) == 0
    assert notifications_mark_read(user=personas["alice"]) == 1
    assert unread_count(personas["alice"]) == 0 and unread_count(personas["bob"]) == 1


def test_immediate_email_goes_out_once_and_off_sends_none(emails, settings, django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    notification_preference_set(user=emails["alice"], kind=Kind.SLA, email=EmailMode.IMMEDIATE)
    notification_preference_set(user=emails["bob"], kind=Kind.SLA, email=EmailMode.OFF)
    with django_capture_on_commit_callbacks(execute=True):
        notification_send(users=[emails["alice"], emails["bob"]], kind=Kind.SLA, title="CASE-1 breaches in 1 h")
    assert [m.to for m in mail.outbox] == [["alice@bank.example"]]
    assert "CASE-1 breaches" in mail.outbox[0].subject
    from notifications.services import notification_email_send

    again = Notification.objects.get(user=emails["alice"])
    assert notification_email_send(notification_id=again.pk) is False  # claimed already: never twice
    assert len(mail.outbox) == 1


def test_digest_sends_at_most_one_email_an_hour(emails):
    notification_preference_set(user=emails["alice"], kind=Kind.ASSIGNMENT, email=EmailMode.DIGEST)
    for n in range(3):
        notification_send(users=[emails["alice"]], kind=Kind.ASSIGNMENT, title=f"CASE-{n} assigned to you")
    now = timezone.now()
    assert notification_digests_send(now=now) == 1
    assert len(mail.outbox) == 1 and all(f"CASE-{n}" in mail.outbox[0].body for n in range(3))
    notification_send(users=[emails["alice"]], kind=Kind.ASSIGNMENT, title="CASE-9 assigned to you")
    assert notification_digests_send(now=now + timedelta(minutes=30)) == 0
    assert notification_digests_send(now=now + timedelta(minutes=61)) == 1
    assert "CASE-9" in mail.outbox[1].body and "CASE-0" not in mail.outbox[1].body


def test_the_page_lists_ones_own_and_saves_email_choices(client, personas):
    notification_send(users=[personas["alice"]], kind=Kind.SLA, title="alice's warning", url="/cases/X/")
    notification_send(users=[personas["bob"]], kind=Kind.SLA, title="bob's warning")
    client.force_login(personas["alice"])
    page = client.get("/notifications/").content.decode()
    assert "alice&#x27;s warning" in page and "bob" not in page.split("<main>")[1].split("Email")[0]
    assert 'data-testid="bell-count">1<' in page
    response = client.post("/notifications/preferences", {"email_sla": "digest", "email_mention": "off"})
    assert response.status_code == 302
    from notifications.selectors import preferences_of

    chosen = {kind: mode for kind, _label, mode in preferences_of(personas["alice"])}
    assert chosen["sla"] == "digest" and chosen["mention"] == "off"
    own = Notification.objects.get(user=personas["alice"])
    assert client.post(f"/notifications/{own.pk}/open")["Location"] == "/cases/X/"
    assert unread_count(personas["alice"]) == 0
    bobs = Notification.objects.get(user=personas["bob"])
    assert client.post(f"/notifications/{bobs.pk}/open").status_code == 404
    assert unread_count(personas["bob"]) == 1


def test_the_api_serves_people_their_own_only(client, personas, api_key):
    notification_send(users=[personas["alice"]], kind=Kind.SLA, title="one")
    notification_send(users=[personas["bob"]], kind=Kind.SLA, title="other")
    assert client.get("/api/v1/notifications/").status_code in {401, 403}
    _, raw = api_key
    assert client.get("/api/v1/notifications/", headers={"authorization": f"Bearer {raw}"}).status_code == 403
    client.force_login(personas["alice"])
    body = client.get("/api/v1/notifications/?unread=true").json()
    assert [n["title"] for n in body["results"]] == ["one"] and body["unread"] == 1
    read = client.post("/api/v1/notifications/read", {"ids": [0]}, content_type="application/json")
    assert read.status_code == 400 and read.json()["code"]
    assert client.post("/api/v1/notifications/read", {}, content_type="application/json").json() == {
        "marked_read": 1,
        "unread": 0,
    }
    bad = client.put(
        "/api/v1/notifications/preferences", {"kind": "sla", "email": "fax"}, content_type="application/json"
    )
    assert bad.status_code == 400
    good = client.put(
        "/api/v1/notifications/preferences", {"kind": "sla", "email": "digest"}, content_type="application/json"
    )
    assert {"kind": "sla", "email": "digest"} in good.json()


def test_the_admin_shows_notifications_read_only(admin_client, personas):
    notification_send(users=[personas["alice"]], kind=Kind.SLA, title="evidence")
    assert "evidence" in admin_client.get("/admin/notifications/notification/").content.decode()
    row = Notification.objects.get()
    assert admin_client.post(f"/admin/notifications/notification/{row.pk}/change/", {}).status_code == 403
