"""The admin shows the trail and offers no way to change it."""

import pytest
from django.urls import reverse

from audit.services import audit_log

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    return audit_log(
        actor="user:alice", action="case.closed", object_type="case", object_id=7, payload={"outcome": "fraud"}
    )


def test_changelist_lists_events_with_a_short_hash(admin_client, event):
    response = admin_client.get(reverse("admin:audit_auditevent_changelist"), {"q": "alice"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "case.closed" in content
    assert event.hash[:12] in content
    assert event.hash not in content


def test_change_view_is_read_only_with_a_pretty_payload(admin_client, event):
    response = admin_client.get(reverse("admin:audit_auditevent_change", args=[event.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert "{\n  &quot;outcome&quot;: &quot;fraud&quot;\n}" in content
    assert 'name="_save"' not in content


def test_add_change_and_delete_are_forbidden(admin_client, event):
    assert admin_client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert admin_client.get(reverse("admin:audit_auditevent_delete", args=[event.pk])).status_code == 403
    response = admin_client.post(reverse("admin:audit_auditevent_change", args=[event.pk]), {"actor": "user:mallory"})
    assert response.status_code == 403
