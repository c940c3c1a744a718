"""Platform staff manage organisations and see none of their data, unless they enter one for support with a
reason, which its chain records and its admins see."""

import pytest
from django.test import Client

from accounts.services import organisation_create
from audit.models import AuditEvent
from audit.services import chain_of
from cases.models import Case
from conftest import default_organisation, suspicious_record
from ingestion.services import ingest
from organisations.context import organisation_context
from organisations.models import Organisation
from scoring.models import ModelVersion, Rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def platform_client(make_user):
    person = make_user("platform", "pat")
    person.is_staff = True
    person.save()
    client = Client()
    client.force_login(person)
    return client


@pytest.fixture
def a_case(champion):
    ingest([suspicious_record(1, account_id="acc-support")], organisation=default_organisation(), source="acme",
           actor="tests")  # fmt: skip
    return Case.objects.get(account_id="acc-support")


def test_platform_staff_see_no_organisations_data(platform_client, a_case):
    page = platform_client.get("/cases/")
    assert page.status_code == 302 and page["Location"] == "/accounts/support/"
    assert platform_client.get(f"/cases/{a_case.reference}/").status_code == 302
    assert platform_client.get("/api/v1/cases/").status_code == 403


def test_entering_for_support_needs_a_reason_and_is_audited_in_the_organisations_chain(platform_client, a_case):
    refused = platform_client.post("/accounts/support/", {"organisation": "default", "reason": "look"})
    assert refused.status_code == 400 and b"at least 10 characters" in refused.content
    entered = platform_client.post(
        "/accounts/support/", {"organisation": "default", "reason": "Ticket 4711: worklist is empty"}
    )
    assert entered.status_code == 302
    page = platform_client.get(f"/cases/{a_case.reference}/")
    assert page.status_code == 200 and b"Support visit" in page.content
    visit = AuditEvent.objects.get(action="support.entered")
    assert (visit.actor, visit.payload) == ("user:pat", {"reason": "Ticket 4711: worklist is empty"})
    # Read only: viewers change nothing.
    response = platform_client.post(f"/cases/{a_case.reference}/claim")
    assert response.status_code == 403
    platform_client.post("/accounts/support/", {"leave": "1"})
    assert AuditEvent.objects.filter(action="support.left").exists()
    assert platform_client.get("/cases/").status_code == 302


def test_the_organisations_admins_see_support_visits_on_the_dashboard(platform_client, a_case, make_user):
    platform_client.post("/accounts/support/", {"organisation": "default", "reason": "Ticket 4712: a slow page"})
    admin_client = Client()
    admin_client.force_login(make_user("org_admin", "olga"))
    page = admin_client.get("/")
    assert b"Ticket 4712: a slow page" in page.content and b"pat" in page.content
    analyst = Client()
    analyst.force_login(make_user("analyst", "ann"))
    assert b"Ticket 4712" not in analyst.get("/").content


def test_a_new_organisation_starts_with_the_shipped_rules_and_default_model(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.DEFAULT_MODEL_TRAINING = {"n_accounts": 150, "days": 7, "seed": 3, "n_estimators": 20}
    shipped_rules = Rule.objects.count()  # the default organisation's
    organisation = organisation_create(name="Harbour credit union", actor="platform:pat")
    assert organisation.slug == "harbour-credit-union"
    with organisation_context(organisation):
        champion = ModelVersion.objects.get()
        assert Rule.objects.count() == shipped_rules
    assert (champion.version, champion.status) == (1, ModelVersion.Status.CHAMPION)
    assert champion.params["shipped_default"] is True
    assert chain_of(organisation.pk).filter(action="organisation.created").exists()
    assert chain_of(None).filter(action="organisation.created", object_id=organisation.slug).exists()
    assert list((tmp_path).glob("default-model-*.json"))  # trained once, kept for the next organisation
    second = organisation_create(name="Second bank", actor="platform:pat")
    # It scores from its first transaction, with its own numbering.
    result = ingest([suspicious_record(1)], organisation=second, source="acme", actor="tests")
    assert result.accepted == 1
    with organisation_context(second):
        assert ModelVersion.objects.get().artifact_sha256 == champion.artifact_sha256
        assert Case.objects.get().reference.endswith("-000001")
    assert Organisation.objects.count() == 3


def test_an_org_admin_manages_only_its_organisations_people(make_user, organisation):
    admin_user = make_user("org_admin", "olga")
    admin_user.is_staff = True
    admin_user.save()
    make_user("analyst", "b-ann", organisation=organisation)
    client = Client()
    client.force_login(admin_user)
    listing = client.get("/admin/auth/user/").content.decode()
    assert "olga" in listing and "b-ann" not in listing
    added = client.post(
        "/admin/auth/user/add/",
        {"username": "new-analyst", "password1": "a-Long-passw0rd!", "password2": "a-Long-passw0rd!",
         "usable_password": "true"},
    )  # fmt: skip
    assert added.status_code == 302, added.content[:2000]
    from django.contrib.auth import get_user_model

    assert get_user_model().objects.get(username="new-analyst").membership.organisation == default_organisation()
    listing = client.get("/admin/organisations/organisation/").content.decode()
    assert "Default organisation" in listing and "Harbour bank" not in listing
    assert client.get(f"/admin/organisations/organisation/{organisation.pk}/change/").status_code == 302


def test_an_org_admin_chooses_its_organisations_settings(make_user, champion):
    admin_user = make_user("org_admin", "olga")
    admin_user.is_staff = True
    admin_user.save()
    client = Client()
    client.force_login(admin_user)
    url = f"/admin/organisations/organisation/{default_organisation().pk}/change/"
    refused = client.post(url, {"settings": '{"CASE_SLA_HOURS": {"critical": -1}, "SECRET_KEY": "x"}'})
    assert refused.status_code == 200 and b"Not a setting an organisation may choose" in refused.content
    saved = client.post(url, {"settings": '{"CASE_SLA_HOURS": {"high": 2, "critical": 1}}'})
    assert saved.status_code == 302
    organisation = default_organisation()
    assert organisation.settings == {"CASE_SLA_HOURS": {"high": 2, "critical": 1}}
    with organisation_context(organisation):
        ingest([suspicious_record(1, account_id="acc-sla")], organisation=organisation, source="acme", actor="t")
        case = Case.objects.get(account_id="acc-sla")
    hours = (case.sla_due_at - case.opened_at).total_seconds() / 3600
    assert hours == {"high": 2, "critical": 1}[case.severity]
    assert AuditEvent.objects.filter(action="organisation.changed").exists()
