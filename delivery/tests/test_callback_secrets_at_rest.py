"""Callback signing secrets at rest: encrypted in the database, in no list, form, log, audit or history.

(The API shows a secret at creation and rotation only: test_callbacks_api.py.)
"""

import logging

import pytest
from django.db import connection
from django.test import Client
from standardwebhooks import Webhook

from audit.models import AuditEvent
from delivery.models import CallbackEndpoint
from delivery.services import callback_endpoint_rotate_secret, delivery_send
from delivery.tests import callback_receiver
from delivery.tests.test_callbacks_delivery import endpoint_for, one_delivery
from kernel.encryption import decrypt

allow_private = callback_receiver.allow_private  # fixture
receiver = callback_receiver.receiver  # fixture
pytestmark = pytest.mark.django_db


def stored(endpoint: CallbackEndpoint) -> tuple[str, str]:
    """The columns as a database dump would show them."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret, previous_secret FROM delivery_callbackendpoint WHERE id = %s", [endpoint.pk])
        return cursor.fetchone()


def test_the_database_holds_the_secrets_encrypted(allow_private):
    endpoint, secret = endpoint_for("http://127.0.0.1:9/hook")
    raw_secret, _ = stored(endpoint)
    assert secret not in raw_secret and secret.removeprefix("whsec_") not in raw_secret
    assert decrypt(raw_secret) == secret
    _, new_secret = callback_endpoint_rotate_secret(endpoint=endpoint, actor="tests")
    raw_secret, raw_previous = stored(endpoint)
    assert new_secret not in raw_secret and secret not in raw_previous
    assert (decrypt(raw_secret), decrypt(raw_previous)) == (new_secret, secret)


def test_signing_still_works_end_to_end(receiver, allow_private):
    endpoint, secret = endpoint_for(receiver.url)
    assert delivery_send(delivery_id=one_delivery(endpoint).pk) == "delivered"
    headers, raw = receiver.requests[0]
    assert Webhook(secret).verify(raw, headers)["type"] == "decision.created"


def test_no_audit_payload_history_row_or_log_line_holds_a_secret(allow_private, caplog):
    caplog.set_level(logging.DEBUG)
    endpoint, secret = endpoint_for("http://127.0.0.1:9/hook")
    _, new_secret = callback_endpoint_rotate_secret(endpoint=endpoint, actor="tests")
    payloads = " ".join(str(p) for p in AuditEvent.objects.values_list("payload", flat=True))
    history_columns = {f.name for f in CallbackEndpoint.history.model._meta.fields}
    for value in (secret, new_secret):
        assert value not in payloads and value not in caplog.text
    assert not {"secret", "previous_secret"} & history_columns


def test_admin_shows_a_fingerprint_only(make_user, allow_private):
    user = make_user("org_admin", "ada")
    user.is_staff = True
    user.save()
    client = Client()
    client.force_login(user)
    endpoint, secret = endpoint_for("http://127.0.0.1:9/hook")
    change = client.get(f"/admin/delivery/callbackendpoint/{endpoint.pk}/change/").content.decode()
    listing = client.get("/admin/delivery/callbackendpoint/").content.decode()
    history = client.get(f"/admin/delivery/callbackendpoint/{endpoint.pk}/history/").content.decode()
    assert f"…{secret[-4:]}" in change
    for page in (change, listing, history):
        assert secret not in page and secret[:-4] not in page
