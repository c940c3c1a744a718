"""/api/v1/callbacks/ and /api/v1/deliveries/: who may do what, key scoping, validation, and the admin pages."""

import json

import pytest
from django.test import Client

from apikeys.services import api_key_create
from audit.models import AuditEvent
from conftest import default_organisation
from delivery.models import CallbackEndpoint, Delivery
from delivery.services import callback_endpoint_create, deliveries_fan_out, outbox_append
from delivery.tests import callback_receiver

allow_private = callback_receiver.allow_private  # fixture
pytestmark = pytest.mark.django_db
URL = "http://127.0.0.1:9/hooks"


def key_client(name, scopes=("callbacks",)):
    key, raw = api_key_create(organisation=default_organisation(), name=name, source=name, scopes=list(scopes))
    return key, Client(headers={"x-webhook-key": raw})


def person_client(make_user, role, *, staff=False):
    user = make_user(role, f"{role}-person")
    if staff:
        user.is_staff = True
        user.save()
    client = Client()
    client.force_login(user)
    return user, client


def post_json(client, url, body=None):
    return client.post(url, json.dumps(body) if body is not None else "", "application/json")


def patch_json(client, url, body):
    return client.patch(url, json.dumps(body), "application/json")


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "details"} and body["code"] == code
    return body


def dead_delivery(endpoint) -> Delivery:
    source = endpoint.api_key.source if endpoint.api_key_id else "acme"  # a key's endpoint hears its own source
    outbox_append(events=[("decision.created", {"external_id": "tx-1", "source": source, "flagged": True})])
    deliveries_fan_out()
    delivery = Delivery.objects.filter(endpoint=endpoint).latest("id")
    Delivery.objects.filter(pk=delivery.pk).update(status="dead", attempts=4, next_attempt_at=None)
    return delivery


class TestIntegratorKeys:
    def test_a_key_registers_an_endpoint_and_sees_the_secret_once(self, allow_private):
        key, client = key_client("acme")
        response = post_json(client, "/api/v1/callbacks/", {"name": "Acme", "url": URL, "event_types": ["decision.*"]})
        assert response.status_code == 201, response.content
        created = response.json()
        assert created["secret"].startswith("whsec_") and created["breaker_state"] == "closed"
        endpoint = CallbackEndpoint.objects.get(pk=created["id"])
        assert endpoint.api_key == key and endpoint.secret == created["secret"]
        assert "secret" not in client.get(f"/api/v1/callbacks/{endpoint.pk}/").json()
        assert "secret" not in client.get("/api/v1/callbacks/").json()["results"][0]
        assert AuditEvent.objects.filter(action="callback.endpoint_created", actor=f"api:{key.prefix}").exists()

        rotated = post_json(client, f"/api/v1/callbacks/{endpoint.pk}/rotate-secret").json()
        assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
        assert AuditEvent.objects.filter(action="callback.secret_rotated", object_id=str(endpoint.pk)).exists()

        changed = patch_json(client, f"/api/v1/callbacks/{endpoint.pk}/", {"is_active": False, "flagged_only": True})
        assert changed.status_code == 200 and changed.json()["is_active"] is False
        assert AuditEvent.objects.filter(action="callback.endpoint_updated", object_id=str(endpoint.pk)).exists()
        assert client.delete(f"/api/v1/callbacks/{endpoint.pk}/").status_code == 204
        assert not CallbackEndpoint.objects.exists()
        assert AuditEvent.objects.filter(action="callback.endpoint_deleted", object_id=str(endpoint.pk)).exists()

    def test_another_keys_endpoints_and_deliveries_are_404(self, allow_private):
        owner_key, owner = key_client("acme")
        _, other = key_client("globex")
        endpoint, _ = callback_endpoint_create(
            name="Acme", url=URL, event_types=["*"], api_key=owner_key, actor=owner_key
        )
        delivery = dead_delivery(endpoint)
        assert owner.get(f"/api/v1/callbacks/{endpoint.pk}/").status_code == 200
        assert owner.get(f"/api/v1/deliveries/{delivery.pk}/").status_code == 200
        assert_error(other.get(f"/api/v1/callbacks/{endpoint.pk}/"), 404, "not_found")
        assert_error(patch_json(other, f"/api/v1/callbacks/{endpoint.pk}/", {"name": "mine"}), 404, "not_found")
        assert_error(other.delete(f"/api/v1/callbacks/{endpoint.pk}/"), 404, "not_found")
        assert_error(post_json(other, f"/api/v1/callbacks/{endpoint.pk}/rotate-secret"), 404, "not_found")
        assert_error(other.get(f"/api/v1/deliveries/{delivery.pk}/"), 404, "not_found")
        assert_error(post_json(other, f"/api/v1/deliveries/{delivery.pk}/redeliver"), 404, "not_found")
        assert other.get("/api/v1/callbacks/").json()["count"] == 0
        assert other.get("/api/v1/deliveries/").json()["count"] == 0
        endpoint.refresh_from_db()
        assert endpoint.name == "Acme"
        assert Delivery.objects.get(pk=delivery.pk).status == "dead"

    def test_a_key_without_the_callbacks_scope_is_403_and_no_key_is_401(self):
        _, ingest_only = key_client("acme", scopes=["ingest", "read", "stream"])
        assert_error(ingest_only.get("/api/v1/callbacks/"), 403, "permission_denied")
        assert_error(ingest_only.get("/api/v1/deliveries/"), 403, "permission_denied")
        assert_error(Client().get("/api/v1/deliveries/"), 401, "not_authenticated")


class TestValidation:
    def test_a_private_url_is_refused_when_saved(self):
        _, client = key_client("acme")
        for url in ("http://127.0.0.1:8000/hooks", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.5/"):
            body = assert_error(
                post_json(client, "/api/v1/callbacks/", {"name": "x", "url": url, "event_types": ["*"]}), 400, "invalid"
            )
            assert "non-public" in body["details"]["url"][0]
        assert not CallbackEndpoint.objects.exists()

    def test_a_change_to_a_private_url_is_refused(self, settings):
        settings.CALLBACK_ALLOW_PRIVATE = True
        key, client = key_client("acme")
        endpoint, _ = callback_endpoint_create(name="x", url=URL, event_types=["*"], api_key=key, actor=key)
        settings.CALLBACK_ALLOW_PRIVATE = False
        body = assert_error(patch_json(client, f"/api/v1/callbacks/{endpoint.pk}/", {"url": URL}), 400, "invalid")
        assert "url" in body["details"]

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"name": "x", "url": URL, "event_types": []}, "event_types"),
            ({"name": "x", "url": URL, "event_types": ["Case Closed"]}, "event_types"),
            ({"name": "x", "url": URL, "event_types": "case.closed"}, "event_types"),
            ({"name": "x", "url": "ftp://example.com/", "event_types": ["*"]}, "url"),
            ({"name": "x", "event_types": ["*"]}, "url"),
            # a key's endpoint hears its own source's decisions; case events are not tied to one source
            ({"name": "x", "url": URL, "event_types": ["decision.created", "case.opened"]}, "event_types"),
        ],
    )
    def test_bad_fields_are_400_with_the_field_named(self, allow_private, body, field):
        _, client = key_client("acme")
        details = assert_error(post_json(client, "/api/v1/callbacks/", body), 400, "invalid")["details"]
        assert field in details

    def test_redelivering_a_delivery_still_being_tried_is_409(self, allow_private):
        key, client = key_client("acme")
        endpoint, _ = callback_endpoint_create(name="x", url=URL, event_types=["*"], api_key=key, actor=key)
        delivery = dead_delivery(endpoint)
        Delivery.objects.filter(pk=delivery.pk).update(status="retrying")
        assert_error(post_json(client, f"/api/v1/deliveries/{delivery.pk}/redeliver"), 409, "delivery_in_flight")


class TestPeople:
    def test_admin_manages_every_endpoint_compliance_reads_deliveries_viewer_nothing(self, make_user, allow_private):
        acme_key, _ = key_client("acme")
        endpoint, _ = callback_endpoint_create(name="Acme", url=URL, event_types=["*"], api_key=acme_key, actor="t")
        delivery = dead_delivery(endpoint)

        admin, as_admin = person_client(make_user, "org_admin")
        assert as_admin.get("/api/v1/callbacks/").json()["count"] == 1
        created = post_json(as_admin, "/api/v1/callbacks/", {"name": "Ops", "url": URL, "event_types": ["*"]})
        assert created.status_code == 201 and CallbackEndpoint.objects.get(pk=created.json()["id"]).owner == admin
        assert as_admin.get("/api/v1/deliveries/?status=dead").json()["count"] == 1

        _, as_compliance = person_client(make_user, "compliance")
        assert as_compliance.get("/api/v1/deliveries/?status=dead").json()["count"] == 1
        assert_error(as_compliance.get("/api/v1/callbacks/"), 403, "permission_denied")
        assert_error(post_json(as_compliance, f"/api/v1/deliveries/{delivery.pk}/redeliver"), 403, "permission_denied")

        _, as_viewer = person_client(make_user, "viewer")
        assert_error(as_viewer.get("/api/v1/deliveries/"), 403, "permission_denied")
        assert_error(
            post_json(as_viewer, "/api/v1/callbacks/", {"name": "x", "url": URL, "event_types": ["*"]}),
            403,
            "permission_denied",
        )

        response = post_json(as_admin, f"/api/v1/deliveries/{delivery.pk}/redeliver")
        assert response.status_code == 202
        assert AuditEvent.objects.filter(action="callback.redelivered", actor=f"user:{admin.username}").exists()

    def test_the_delivery_list_filters_and_costs_the_same_queries_for_any_page_size(
        self, make_user, allow_private, django_assert_max_num_queries
    ):
        _, as_admin = person_client(make_user, "org_admin")
        one, _ = callback_endpoint_create(name="one", url=URL, event_types=["*"], actor="t")
        two, _ = callback_endpoint_create(name="two", url=URL, event_types=["case.*"], actor="t")
        outbox_append(
            events=[("decision.created", {"n": n}) for n in range(30)] + [("case.opened", {"reference": "C-1"})]
        )
        deliveries_fan_out()
        assert as_admin.get(f"/api/v1/deliveries/?endpoint={two.pk}").json()["count"] == 1
        assert as_admin.get("/api/v1/deliveries/?event_type=case.opened").json()["count"] == 2
        assert as_admin.get(f"/api/v1/deliveries/?endpoint={one.pk}&status=pending").json()["count"] == 31
        with django_assert_max_num_queries(8):
            page = as_admin.get("/api/v1/deliveries/?limit=30").json()
        assert len(page["results"]) == 30


class TestAdmin:
    def test_admin_adds_an_endpoint_sees_the_secret_once_and_private_urls_are_refused(self, make_user, settings):
        _, client = person_client(make_user, "org_admin", staff=True)
        form = {"name": "Ops", "url": "http://127.0.0.1:9/hooks", "event_types": '["*"]', "is_active": "on"}
        refused = client.post("/admin/delivery/callbackendpoint/add/", form)
        assert refused.status_code == 200 and b"non-public" in refused.content
        assert not CallbackEndpoint.objects.exists()

        settings.CALLBACK_ALLOW_PRIVATE = True
        added = client.post("/admin/delivery/callbackendpoint/add/", form, follow=True)
        endpoint = CallbackEndpoint.objects.get()
        assert endpoint.secret.encode() in added.content  # shown once, in the message
        assert (
            endpoint.secret.encode()
            not in client.get(f"/admin/delivery/callbackendpoint/{endpoint.pk}/change/").content
        )
        assert AuditEvent.objects.filter(action="callback.endpoint_created", object_id=str(endpoint.pk)).exists()
        assert endpoint.history.count() == 1
        assert client.get(f"/admin/delivery/callbackendpoint/{endpoint.pk}/history/").status_code == 200
        changed = client.post(
            f"/admin/delivery/callbackendpoint/{endpoint.pk}/change/", {**form, "name": "Ops desk"}, follow=True
        )
        assert changed.status_code == 200
        endpoint.refresh_from_db()
        assert endpoint.name == "Ops desk" and endpoint.history.count() == 2
        assert AuditEvent.objects.filter(action="callback.endpoint_updated", object_id=str(endpoint.pk)).exists()

    def test_redeliver_action_on_dead_deliveries(self, make_user, allow_private):
        admin, client = person_client(make_user, "org_admin", staff=True)
        endpoint, _ = callback_endpoint_create(name="x", url=URL, event_types=["*"], actor="t")
        delivery = dead_delivery(endpoint)
        assert client.get(f"/admin/delivery/delivery/{delivery.pk}/change/").status_code == 200
        response = client.post(
            "/admin/delivery/delivery/", {"action": "redeliver", "_selected_action": [delivery.pk]}, follow=True
        )
        assert response.status_code == 200 and b"Queued 1 for redelivery" in response.content
        delivery.refresh_from_db()
        assert delivery.status == "pending" and delivery.attempts == 0
        assert AuditEvent.objects.filter(action="callback.redelivered", actor=f"user:{admin.username}").exists()
