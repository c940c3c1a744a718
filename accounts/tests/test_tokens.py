"""Bearer tokens for people, through the API: issue, refresh once, sign out, expiry, signatures, key rotation,
organisations, and the second factor with real TOTP codes."""

import time
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework_simplejwt.utils import aware_utcnow

from accounts.services import second_factor_provision
from accounts.tests.test_second_factor import code_for
from accounts.tokens import PersonAccessToken, token_pair_for
from audit.models import AuditEvent
from conftest import default_organisation, suspicious_record, transaction_record
from ingestion.services import ingest
from organisations.context import organisation_context
from organisations.models import Membership

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"
TOKEN, REFRESH, LOGOUT = "/api/v1/auth/token", "/api/v1/auth/token/refresh", "/api/v1/auth/logout"


@pytest.fixture
def person(make_user):
    """An analyst of the default organisation who signs in with a password."""
    return with_password(make_user("analyst", "ana"))


def with_password(user):
    user.set_password(PASSWORD)
    user.save()
    return user


def issue(client, username, password=PASSWORD, **extra):
    return client.post(TOKEN, {"username": username, "password": password, **extra}, content_type="application/json")


def refresh(client, token):
    return client.post(REFRESH, {"refresh": token}, content_type="application/json")


def bearer(access) -> Client:
    return Client(headers={"Authorization": f"Bearer {access}"})


def claims(access: str) -> dict:
    return jwt.decode(access, options={"verify_signature": False})


def assert_refused(response, status: int, code: str):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["message"] and body["details"] == {}


class TestIssue:
    def test_a_member_gets_a_pair_whose_access_token_reads_the_api(self, client, person):
        response = issue(client, "ana")
        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 15 * 60
        assert body["refresh_expires_in"] == 8 * 3600
        access = claims(body["access"])
        assert access["token_type"] == "access"
        assert access["sub"] == str(person.pk) and access["user_id"] == person.pk
        assert access["username"] == "ana"
        assert access["organisation"] == "default" and access["organisation_id"] == default_organisation().pk
        assert access["roles"] == ["analyst"] and access["amr"] == ["pwd"]
        assert access["iss"] == "finobs" and access["exp"] - access["iat"] == 15 * 60
        assert jwt.get_unverified_header(body["access"])["alg"] == "RS256"
        assert claims(body["refresh"])["exp"] - claims(body["refresh"])["iat"] == 8 * 3600

        assert bearer(body["access"]).get("/api/v1/cases/").status_code == 200
        assert AuditEvent.objects.filter(action="auth.token_issued", actor="user:ana").exists()

    def test_a_wrong_password_is_401_and_repeated_failures_lock_the_account(self, client, person, settings):
        settings.AXES_FAILURE_LIMIT = 3
        assert_refused(issue(client, "ana", "not the password"), 401, "invalid_credentials")
        assert_refused(issue(client, "nobody-here"), 401, "invalid_credentials")
        for _ in range(2):
            issue(client, "ana", "not the password")
        assert_refused(issue(client, "ana"), 429, "locked_out")  # even with the right password now

    def test_platform_staff_and_members_of_an_inactive_organisation_get_none(self, client, make_user, organisation):
        with_password(make_user("platform", "pat"))
        assert_refused(issue(client, "pat"), 403, "no_organisation")
        with_password(make_user("analyst", "hal", organisation=organisation))
        organisation.is_active = False
        organisation.save()
        assert_refused(issue(client, "hal"), 403, "organisation_inactive")

    def test_a_body_without_a_password_is_400(self, client, person):
        response = client.post(TOKEN, {"username": "ana"}, content_type="application/json")
        assert response.status_code == 400
        assert response.json()["code"] == "invalid" and "password" in response.json()["details"]


class TestRefreshAndSignOut:
    def test_a_refresh_token_works_once_and_its_successor_works(self, client, person):
        first = issue(client, "ana").json()
        second = refresh(client, first["refresh"])
        assert second.status_code == 200
        assert second.json()["refresh"] != first["refresh"]
        assert claims(second.json()["access"])["organisation"] == "default"
        assert_refused(refresh(client, first["refresh"]), 401, "token_revoked")  # used already
        assert refresh(client, second.json()["refresh"]).status_code == 200

    def test_signing_out_revokes_the_refresh_token(self, client, person):
        pair = issue(client, "ana").json()
        response = client.post(LOGOUT, {"refresh": pair["refresh"]}, content_type="application/json")
        assert response.status_code == 204
        assert_refused(refresh(client, pair["refresh"]), 401, "token_revoked")
        again = client.post(LOGOUT, {"refresh": pair["refresh"]}, content_type="application/json")
        assert again.status_code == 204
        assert AuditEvent.objects.filter(action="auth.token_revoked", actor="user:ana").count() == 1

    def test_an_access_token_is_no_refresh_token(self, client, person):
        pair = issue(client, "ana").json()
        assert_refused(refresh(client, pair["access"]), 401, "token_invalid")
        assert_refused(bearer(pair["refresh"]).get("/api/v1/cases/"), 401, "token_invalid")

    def test_a_person_who_changed_organisation_cannot_refresh(self, client, person, organisation):
        pair = issue(client, "ana").json()
        Membership.objects.filter(user=person).update(organisation=organisation)
        assert_refused(refresh(client, pair["refresh"]), 401, "organisation_changed")


class TestAccessTokens:
    def test_an_expired_access_token_is_401_token_expired(self, person):
        token = token_pair_for(person, default_organisation(), methods=["pwd"]).access
        token.set_exp(from_time=aware_utcnow() - timedelta(hours=1))
        response = bearer(token).get("/api/v1/cases/")
        assert_refused(response, 401, "token_expired")
        assert response["WWW-Authenticate"] == 'Bearer realm="finobs"'

    def test_a_token_signed_by_another_key_is_401(self, client, person):
        payload = claims(issue(client, "ana").json()["access"])
        forged = jwt.encode(payload, _private_pem(), algorithm="RS256")
        assert_refused(bearer(forged).get("/api/v1/cases/"), 401, "token_invalid")
        unsigned = jwt.encode(payload, "", algorithm="none")
        assert_refused(bearer(unsigned).get("/api/v1/cases/"), 401, "token_invalid")
        assert_refused(bearer("not-a-token").get("/api/v1/cases/"), 401, "token_invalid")

    def test_during_a_key_rotation_tokens_of_the_previous_key_still_work(self, client, person, settings):
        old_access = issue(client, "ana").json()["access"]
        new_private = _private_pem()
        settings.JWT_PREVIOUS_PUBLIC_KEY = settings.JWT_PUBLIC_KEY
        settings.JWT_PRIVATE_KEY = new_private
        settings.JWT_PUBLIC_KEY = _public_pem(new_private)
        assert bearer(old_access).get("/api/v1/cases/").status_code == 200
        new_access = issue(client, "ana").json()["access"]
        assert bearer(new_access).get("/api/v1/cases/").status_code == 200
        settings.JWT_PREVIOUS_PUBLIC_KEY = ""  # the rotation is over
        assert_refused(bearer(old_access).get("/api/v1/cases/"), 401, "token_invalid")

    def test_a_token_of_another_organisation_finds_none_of_its_objects(self, champion, make_user, organisation):
        ingest(
            [transaction_record(1), suspicious_record(2, account_id="acc-a")],
            organisation=default_organisation(),
            source="acme",
            actor="tests",
        )
        from cases.models import Case
        from scoring.models import Transaction

        case, transaction = Case.objects.get(account_id="acc-a"), Transaction.objects.get(external_id="tx-2")
        with organisation_context(organisation):
            officer = make_user("compliance", "b-officer", organisation=organisation)
            theirs = bearer(token_pair_for(officer, organisation, methods=["pwd"]).access)
        ours = bearer(
            token_pair_for(make_user("compliance", "a-officer"), default_organisation(), methods=["pwd"]).access
        )
        for url in (f"/api/v1/cases/{case.reference}/", f"/api/v1/transactions/{transaction.pk}/"):
            assert ours.get(url).status_code == 200, url
            assert_refused(theirs.get(url), 404, "not_found")
        assert theirs.get("/api/v1/cases/").json()["results"] == []

    def test_a_membership_changed_after_issue_refuses_the_token(self, person, organisation):
        access = token_pair_for(person, default_organisation(), methods=["pwd"]).access
        Membership.objects.filter(user=person).update(organisation=organisation)
        assert_refused(bearer(access).get("/api/v1/cases/"), 401, "organisation_changed")
        Membership.objects.filter(user=person).delete()
        assert_refused(bearer(access).get("/api/v1/cases/"), 401, "organisation_changed")

    def test_a_deactivated_person_or_organisation_is_refused(self, person):
        access = token_pair_for(person, default_organisation(), methods=["pwd"]).access
        organisation = default_organisation()
        organisation.is_active = False
        organisation.save()
        assert_refused(bearer(access).get("/api/v1/cases/"), 401, "organisation_inactive")
        organisation.is_active = True
        organisation.save()
        person.is_active = False
        person.save()
        assert_refused(bearer(access).get("/api/v1/cases/"), 401, "token_invalid")

    def test_api_keys_keep_working_beside_tokens(self, api_key):
        _, raw = api_key
        assert bearer(raw).get("/api/v1/cases/").status_code == 200
        assert_refused(bearer("fo_nothing0_wrong").get("/api/v1/cases/"), 401, "authentication_failed")


@pytest.mark.mfa
class TestSecondFactor:
    @pytest.fixture
    def staff(self, make_user):
        """A compliance officer who uses Django admin: staff, so her sign-in needs a second factor."""
        user = with_password(make_user("compliance", "carol"))
        user.is_staff = True
        user.save()
        return user

    def test_the_code_is_required_then_checked(self, client, staff):
        assert_refused(issue(client, "carol"), 401, "second_factor_not_enrolled")
        _, backup_codes = second_factor_provision(user=staff)
        device = TOTPDevice.objects.get(user=staff)
        assert_refused(issue(client, "carol"), 401, "second_factor_required")
        assert_refused(issue(client, "carol", otp="000000"), 401, "second_factor_invalid")
        time.sleep(1.1)  # django-otp's throttle after a wrong code
        response = issue(client, "carol", otp=code_for(device))
        assert response.status_code == 200
        assert claims(response.json()["access"])["amr"] == ["pwd", "otp"]
        assert issue(client, "carol", otp=backup_codes[0]).status_code == 200
        assert_refused(issue(client, "carol", otp=backup_codes[0]), 401, "second_factor_invalid")  # used up

    def test_a_token_issued_with_the_second_factor_counts_as_verified(self, client, staff):
        second_factor_provision(user=staff)
        device = TOTPDevice.objects.get(user=staff)
        verified = issue(client, "carol", otp=code_for(device)).json()
        from kernel.mfa import is_verified

        request_user = bearer(verified["access"]).get("/api/v1/cases/").wsgi_request.user
        assert is_verified(request_user)
        # A refreshed pair carries the proof on.
        assert claims(refresh(client, verified["refresh"]).json()["access"])["amr"] == ["pwd", "otp"]

    def test_people_whose_sign_in_needs_none_get_a_token_without_a_code(self, client, person):
        assert issue(client, "ana").status_code == 200


def test_the_token_lists_are_not_in_django_admin():
    from django.contrib import admin
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    assert not admin.site.is_registered(OutstandingToken)


def test_outstanding_refresh_tokens_are_stored_by_their_hash_only(client, person):
    from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

    pair = issue(client, "ana").json()
    stored = OutstandingToken.objects.get(jti=claims(pair["refresh"])["jti"])
    assert stored.token.startswith("sha256:") and pair["refresh"] not in stored.token


def test_an_access_token_is_validated_by_its_class(person):
    access = token_pair_for(person, default_organisation(), methods=["pwd"]).access
    assert PersonAccessToken(str(access))["username"] == "ana"


def _private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _public_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
