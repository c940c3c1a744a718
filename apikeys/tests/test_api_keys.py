"""API keys: created by command or admin (shown once, hashed), scopes, expiry, revocation, last use, rate limits."""

import io
import time
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from apikeys.models import ApiKey
from apikeys.services import api_key_create, api_key_revoke
from audit.models import AuditEvent
from conftest import default_organisation, transaction_record

pytestmark = pytest.mark.django_db
INGEST = "/api/v1/transactions/ingest"
READ = "/api/v1/transactions/999999/"


def get(path, raw):
    return Client().get(path, HTTP_AUTHORIZATION=f"Bearer {raw}")


def post_one(raw, n=1):
    return Client().post(INGEST, data=[transaction_record(n)], content_type="application/json", HTTP_X_WEBHOOK_KEY=raw)


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "details"} and body["code"] == code
    return body


def create_key(**fields):
    fields = {
        "organisation": default_organisation(),
        "name": "k",
        "source": "acme",
        "scopes": ["ingest", "read", "stream"],
        **fields,
    }
    return api_key_create(**fields)


class TestCommands:
    def test_create_prints_the_key_once_and_stores_only_its_hash(self):
        out, err = io.StringIO(), io.StringIO()
        options = ["--name", "Acme", "--scopes", "ingest,read", "--expires", "30d", "--rate-limit", "120/min"]
        call_command("create_api_key", *options, stdout=out, stderr=err)
        raw = out.getvalue().strip()
        key = ApiKey.objects.get()
        assert raw.startswith(f"fo_{key.prefix}_") and key.prefix in err.getvalue()
        assert raw not in {key.key_hash, key.prefix} and key.key_hash == ApiKey.hash_key(raw)
        assert key.scopes == ["ingest", "read"] and key.rate_limit == "120/min"
        assert timedelta(days=29, hours=23) < key.expires_at - timezone.now() <= timedelta(days=30)
        assert AuditEvent.objects.filter(action="apikey.created", object_id=str(key.pk)).exists()

    def test_expires_takes_a_date(self):
        call_command(
            "create_api_key", "--name", "Dated", "--expires", "2099-01-31", stdout=io.StringIO(), stderr=io.StringIO()
        )
        assert ApiKey.objects.get().expires_at.date().isoformat() == "2099-01-31"

    @pytest.mark.parametrize(
        "args",
        [["--scopes", "ingest,admin"], ["--expires", "soon"], ["--expires", "2000-01-01"], ["--rate-limit", "lots"]],
    )
    def test_bad_options_are_refused(self, args):
        with pytest.raises(CommandError):
            call_command("create_api_key", "--name", "Bad", *args, stdout=io.StringIO(), stderr=io.StringIO())
        assert not ApiKey.objects.exists()

    def test_revoke_by_prefix_stops_the_key_and_is_audited(self, champion):
        key, raw = create_key()
        out = io.StringIO()
        call_command("revoke_api_key", key.prefix, stdout=out)
        key.refresh_from_db()
        assert key.revoked_at is not None and "Revoked" in out.getvalue()
        assert AuditEvent.objects.filter(action="apikey.revoked", object_id=str(key.pk)).exists()
        assert_error(post_one(raw), 401, "authentication_failed")
        with pytest.raises(CommandError):
            call_command("revoke_api_key", "nope1234")


class TestEnforcement:
    def test_expired_key_is_401(self, champion, settings):
        settings.API_KEY_CACHE_S = 0  # the change below is made behind the ORM's back, as another process would
        key, raw = create_key(expires_at=timezone.now() + timedelta(minutes=1))
        assert post_one(raw).status_code == 200
        ApiKey.objects.filter(pk=key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        body = assert_error(post_one(raw, 2), 401, "authentication_failed")
        assert "expired" in body["message"]

    def test_revoked_key_is_401_everywhere(self):
        key, raw = create_key()
        api_key_revoke(key=key)
        assert_error(post_one(raw), 401, "authentication_failed")
        assert_error(get(READ, raw), 401, "authentication_failed")

    def test_scopes_are_enforced_per_endpoint(self, champion):
        _, reader = create_key(scopes=["read"])
        _, ingester = create_key(scopes=["ingest"])
        assert_error(post_one(reader), 403, "permission_denied")
        assert_error(get(READ, ingester), 403, "permission_denied")
        assert_error(get("/api/v1/stream/decisions", ingester), 403, "permission_denied")
        assert get(READ, reader).status_code == 404  # allowed in; there is just no such transaction

    def test_last_used_is_written_at_most_once_a_minute(self, champion, settings):
        settings.API_KEY_CACHE_S = 0  # last_used_at is moved back below behind the ORM's back
        key, raw = create_key()
        post_one(raw, 1)
        key.refresh_from_db()
        first = key.last_used_at
        assert first is not None
        post_one(raw, 2)
        key.refresh_from_db()
        assert key.last_used_at == first
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=first - timedelta(seconds=61))
        post_one(raw, 3)
        key.refresh_from_db()
        assert key.last_used_at > first


class TestKeyCache:
    def test_a_revocation_in_this_process_applies_to_the_next_request(self, champion):
        key, raw = create_key()
        assert post_one(raw, 1).status_code == 200  # the key is cached now
        api_key_revoke(key=key)
        assert_error(post_one(raw, 2), 401, "authentication_failed")

    def test_a_change_from_another_process_applies_within_the_cache_time(self, champion, settings):
        settings.API_KEY_CACHE_S = 0.5
        key, raw = create_key()
        assert post_one(raw, 1).status_code == 200
        ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())  # as another process would
        assert post_one(raw, 2).status_code == 200  # still the cached row
        time.sleep(0.55)
        assert_error(post_one(raw, 3), 401, "authentication_failed")

    def test_a_wrong_secret_with_a_cached_prefix_is_refused(self, champion):
        _, raw = create_key()
        assert post_one(raw, 1).status_code == 200
        forged = raw[:-4] + ("aaaa" if not raw.endswith("aaaa") else "bbbb")
        assert_error(post_one(forged, 2), 401, "authentication_failed")


class TestRateLimits:
    def test_key_over_its_rate_gets_429_with_retry_after(self, settings):
        settings.API_KEY_RATE = "3/min"
        _, raw = create_key()
        statuses = [get(READ, raw).status_code for _ in range(3)]
        assert statuses == [404, 404, 404]
        response = get(READ, raw)
        body = assert_error(response, 429, "rate_limited")
        retry_after = int(response["Retry-After"])
        assert 0 < retry_after <= 60
        assert body["details"]["retry_after_s"] == retry_after

    def test_limits_are_per_key_and_a_key_can_override_the_default(self, settings):
        settings.API_KEY_RATE = "2/min"
        _, generous = create_key(rate_limit="5/min")
        _, standard = create_key()
        assert [get(READ, generous).status_code for _ in range(6)] == [404] * 5 + [429]
        assert [get(READ, standard).status_code for _ in range(3)] == [404, 404, 429]

    def test_rate_per_scope(self, settings):
        settings.API_KEY_RATE = "100/min"
        settings.API_KEY_RATE_BY_SCOPE = {"read": "1/min"}
        _, raw = create_key()
        assert [get(READ, raw).status_code for _ in range(2)] == [404, 429]

    def test_people_signed_in_are_not_limited_by_key_rates(self, settings, make_user):
        settings.API_KEY_RATE = "1/min"
        client = Client()
        client.force_login(make_user("viewer"))
        assert [client.get(READ).status_code for _ in range(3)] == [404, 404, 404]

    def test_malformed_rate_limit_is_refused(self):
        with pytest.raises(ValueError, match="rate limit"):
            create_key(rate_limit="600 per minute")


class TestAdmin:
    def test_admin_creates_a_key_shown_once_and_audits_changes(self, make_user):
        admin_user = make_user("org_admin", "root")
        admin_user.is_staff = True
        admin_user.save()
        client = Client()
        client.force_login(admin_user)
        response = client.post(
            "/admin/apikeys/apikey/add/",
            {"name": "Bank", "source": "bank", "scopes": '["ingest"]', "rate_limit": "60/min"},
            follow=True,
        )
        assert response.status_code == 200
        key = ApiKey.objects.get()
        shown = [str(m) for m in response.context["messages"]]
        assert any(f"fo_{key.prefix}_" in m for m in shown)
        assert key.rate_limit == "60/min"

        response = client.post(
            f"/admin/apikeys/apikey/{key.pk}/change/",
            {"name": "Bank", "scopes": '["ingest", "read"]', "rate_limit": "120/min"},
            follow=True,
        )
        assert response.status_code == 200
        key.refresh_from_db()
        assert key.scopes == ["ingest", "read"] and key.rate_limit == "120/min"
        change = AuditEvent.objects.get(action="apikey.changed")
        assert change.actor == "user:root" and change.payload == {"scopes": ["ingest", "read"], "rate_limit": "120/min"}

        response = client.post(
            f"/admin/apikeys/apikey/{key.pk}/change/", {"name": "Bank", "scopes": '["ingest"]', "rate_limit": "often"}
        )
        assert response.status_code == 200 and "rate limit" in response.content.decode()  # form error, not saved
        key.refresh_from_db()
        assert key.rate_limit == "120/min"

        response = client.post("/admin/apikeys/apikey/add/", {"name": "Bad", "source": "bad", "scopes": '["root"]'})
        assert response.status_code == 200 and "Unknown scopes: root" in response.content.decode()
        assert ApiKey.objects.count() == 1
