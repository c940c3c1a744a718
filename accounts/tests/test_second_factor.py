"""The second factor, end to end with real TOTP codes: enrolment by QR code, verified sessions, backup codes,
and the actions that need a verified session."""

import re
import time

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from approvals.services import approval_decide
from audit.models import AuditEvent
from cases.models import Approval
from cases.services import case_close
from conftest import default_organisation
from kernel.mfa import SecondFactorRequired

pytestmark = [pytest.mark.django_db, pytest.mark.mfa]
PASSWORD = "correct horse battery staple"


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@pytest.fixture
def carol(personas):
    """A compliance officer who uses Django admin: staff, so her sign-in needs a second factor."""
    carol = personas["carol"]
    carol.is_staff = True
    carol.set_password(PASSWORD)
    carol.save()
    return carol


def sign_in(client, user):
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return response


def test_a_staff_sign_in_enrols_an_authenticator_then_reaches_admin(client, carol):
    sign_in(client, carol)
    page = client.get("/cases/")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/second-factor/?next=%2Fcases%2F")
    assert client.get("/admin/").status_code == 302  # admin too, before a second factor
    enrol = client.get("/accounts/second-factor/?next=/admin/").content.decode()
    assert 'src="data:image/svg+xml' in enrol  # the QR code
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', enrol).group(1)
    device = TOTPDevice.objects.get(user=carol, confirmed=False)
    assert secret.replace(" ", "") in device.config_url

    wrong = client.post("/accounts/second-factor/", {"token": "000000", "next": "/admin/"})
    assert wrong.status_code == 400
    time.sleep(1.1)  # django-otp's throttle after a wrong code
    enrolled = client.post("/accounts/second-factor/", {"token": code_for(device), "next": "/admin/"})
    codes = re.findall(r"<li><code>(\w+)</code></li>", enrolled.content.decode())
    assert len(codes) == 10
    assert client.get("/admin/").status_code == 200
    assert client.get("/cases/").status_code == 200
    actions = set(AuditEvent.objects.filter(object_type="user").values_list("action", flat=True))
    assert {"mfa.enrolment_failed", "mfa.enrolled"} <= actions


def test_each_new_session_verifies_again_by_code_or_by_a_backup_code_used_once(client, carol):
    sign_in(client, carol)
    device = TOTPDevice.objects.get(user=carol) if False else None
    page = client.get("/accounts/second-factor/")
    device = TOTPDevice.objects.get(user=carol)
    codes = re.findall(r"<li><code>(\w+)</code></li>", client.post(
        "/accounts/second-factor/", {"token": code_for(device)}
    ).content.decode())  # fmt: skip
    assert page.status_code == 200 and codes

    client.logout()
    sign_in(client, carol)
    assert client.get("/cases/").status_code == 302  # a new session: not verified yet
    assert client.post("/accounts/second-factor/", {"token": codes[0], "next": "/cases/"}).status_code == 302
    assert client.get("/cases/").status_code == 200

    client.logout()
    sign_in(client, carol)
    assert client.post("/accounts/second-factor/", {"token": codes[0]}).status_code == 400  # used up
    time.sleep(1.1)  # a wrong code makes the next try wait (django-otp's throttle, doubling with each failure)
    assert client.post("/accounts/second-factor/", {"token": codes[1]}).status_code == 302


def test_deciding_an_approval_needs_a_verified_session(client, carol, personas, open_case):
    case = case_close(
        case=open_case("a-1", risk_level="HIGH"), outcome="confirmed_fraud", rationale="r", actor=personas["alice"]
    )
    approval = Approval.objects.get(case=case)
    with pytest.raises(SecondFactorRequired):
        approval_decide(approval=approval, actor=carol, approve=True)  # a person, no verified session

    sign_in(client, carol)  # signed in with her password only
    refused = client.post(f"/api/v1/cases/{case.reference}/approve/", {}, content_type="application/json")
    assert (refused.status_code, refused.json()["code"]) == (403, "second_factor_required")
    approval.refresh_from_db()
    assert approval.status == "pending"

    client.get("/accounts/second-factor/")
    client.post("/accounts/second-factor/", {"token": code_for(TOTPDevice.objects.get(user=carol))})
    approved = client.post(f"/api/v1/cases/{case.reference}/approve/", {}, content_type="application/json")
    assert approved.status_code == 200 and approved.json()["status"] == "closed"


def test_a_non_staff_person_signs_in_without_a_second_factor_unless_all_need_one(client, personas, settings):
    alice = personas["alice"]
    alice.set_password(PASSWORD)
    alice.save()
    sign_in(client, alice)
    assert client.get("/cases/").status_code == 200
    settings.MFA_REQUIRED_FOR = "all"
    assert client.get("/cases/").status_code == 302


def test_managing_api_keys_needs_a_verified_person_but_not_the_server_command(carol):
    from apikeys.services import api_key_create

    with pytest.raises(SecondFactorRequired):
        api_key_create(organisation=default_organisation(), name="x", source="x", scopes=["ingest"], actor=carol)
    key, _ = api_key_create(
        organisation=default_organisation(), name="x", source="x", scopes=["ingest"], actor=None
    )  # manage.py create_api_key
    assert key.pk
