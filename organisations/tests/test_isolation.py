"""Each organisation sees only its own data: every business model belongs to one, and every route that names
an object answers another organisation's people, keys and tokens as if the object did not exist."""

import re
from io import StringIO

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.tokens import token_pair_for
from apikeys.services import api_key_create
from cases.models import AgentAction, Case, ChecklistItem, ClosingChecklist, SuppressedAlert
from cases.services import case_close, investigation_request, investigation_run
from cases.services.attachments import attachment_add
from conftest import default_organisation, suspicious_record, transaction_record
from delivery.models import CallbackEndpoint, Delivery, OutboxEvent
from delivery.models.callbacks import new_webhook_id, new_webhook_secret
from evidence.models import ExportRecord
from finobs.tests.test_architecture import APPS
from ingestion.services import ingest, upload_create
from notifications.services import notification_send
from organisations.context import organisation_context
from organisations.models import Organisation
from scoring.models import ModelVersion, RetrainRun, Transaction
from scoring.services import promotion_request
from scoring.services.experiments import experiment_start
from scoring.tests.builders import copy_model_version

pytestmark = pytest.mark.django_db

# Models of the product whose rows are not one organisation's business data, and why.
NOT_OWNED = {
    "organisations.Organisation": "the organisations themselves",
    "organisations.Membership": "who belongs to which organisation",
    # guardian's per-case grants: each points at a case, and is read through it only.
    "cases.CaseUserObjectPermission": "derives from its case",
    "cases.CaseGroupObjectPermission": "derives from its case",
    "cases.HistoricalTeam_members": "derives from its team's historical record",
}
PRODUCT_APPS = set(APPS)  # the product's own apps (kernel and finobs hold no models of business data)


# Tables that also hold the platform's own rows, of no organisation: its audit chain and that chain's archives.
PLATFORM_ROWS = {"audit.AuditEvent", "evidence.ExportRecord"}


def test_every_model_with_business_data_belongs_to_an_organisation():
    missing = []
    for model in apps.get_models():
        label = model._meta.label
        if model._meta.app_label not in PRODUCT_APPS or label in NOT_OWNED:
            continue
        field = next((f for f in model._meta.concrete_fields if f.name == "organisation"), None)
        if field is None or field.related_model is not Organisation:
            missing.append(label)
        elif field.null and label not in PLATFORM_ROWS and not hasattr(model, "instance_type"):
            # A historical record copies its row's organisation.
            missing.append(f"{label} (nullable)")
    assert not missing, f"these models hold business data but belong to no organisation: {missing}"


@pytest.fixture
def theirs(champion, make_user, settings, tmp_path):
    """Organisation A (the default one) with one of every object a URL can name."""
    settings.MODEL_PROMOTION_REQUIRES_APPROVAL = True
    analyst, officer = make_user("analyst", "a-analyst"), make_user("compliance", "a-officer")
    result = ingest(
        [transaction_record(1, account_id="acc-a"), suspicious_record(2, account_id="acc-theirs")],
        organisation=default_organisation(),
        source="acme",
        actor="tests",
    )
    case = Case.objects.get(account_id="acc-theirs")
    pending_case = Case.objects.exclude(pk=case.pk).first() or case
    case_close(case=case, outcome="false_positive", rationale="Known customer, confirmed by phone.", actor=analyst)
    candidate = copy_model_version(champion)
    promotion = promotion_request(model_version=candidate, actor=officer, reason="better recall")
    experiment = experiment_start(challenger=copy_model_version(champion), challenger_share=0.3, name="", actor=officer)
    endpoint = CallbackEndpoint.objects.create(
        name="theirs", url="https://hooks.example/in", secret=new_webhook_secret(), event_types=["*"]
    )
    event = OutboxEvent.objects.order_by("id").first()
    delivery = Delivery.objects.create(
        endpoint=endpoint, event=event, event_type=event.event_type, webhook_id=new_webhook_id()
    )
    csv = b"external_id,account_id,amount,currency,timestamp\nup-1,acc-up,10.00,EUR,2026-11-20T10:00:00Z\n"
    upload = upload_create(
        organisation=default_organisation(), uploaded_by=analyst, name="a.csv", data=csv, source="csv"
    )
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    attachment = attachment_add(
        case=case,
        upload=SimpleUploadedFile("statement.pdf", b"%PDF-1.4\n%%EOF\n", content_type="application/pdf"),
        actor=analyst,
    )
    checklist = ClosingChecklist.objects.create(name="FP", outcome="false_positive")
    item = ChecklistItem.objects.create(checklist=checklist, text="Customer called back")
    held = SuppressedAlert.objects.create(
        transaction=Transaction.objects.get(pk=result.decisions[0]["transaction_id"]),
        account_id="acc-a",
        previous_case=case,
        severity="low",
        created_at=case.opened_at,
    )
    (notification,) = notification_send(users=[analyst], kind="sla", title="theirs", url="/cases/")
    investigation = investigation_request(case=case, actor=officer)
    investigation_run(investigation_id=investigation.pk)  # a no-op when it ran in-process
    export = ExportRecord.objects.create(
        kind="case", subject=case.reference, requested_by=officer, actor="user:a-officer", status="done"
    )
    return {
        "export": export,
        "retrain_run": RetrainRun.objects.create(reason="theirs", requested_by=officer),
        "suppressed_alert": held,
        "attachment": attachment,
        "checklist_item": item,
        "notification": notification,
        "investigation": investigation,
        "proposal": AgentAction.objects.filter(investigation=investigation).first(),
        "transaction": Transaction.objects.get(pk=result.decisions[1]["transaction_id"]),
        "case": case,
        "pending_case": pending_case,
        "approval": case.approvals.get(),
        "promotion": promotion,
        "candidate": candidate,
        "experiment": experiment,
        "endpoint": endpoint,
        "delivery": delivery,
        "upload": upload,
    }


@pytest.fixture
def ours(organisation, make_user):
    """Organisation B's people (a compliance officer, its admin, the officer by access token) and an API key
    with every scope."""
    with organisation_context(organisation):
        officer = make_user("compliance", "b-officer", organisation=organisation)
        admin_user = make_user("org_admin", "b-admin", organisation=organisation)
        admin_user.is_staff = True
        admin_user.save()
        _, raw = api_key_create(
            organisation=organisation,
            name="B",
            source="acme",  # the same source name as A's key: sources are per organisation too
            scopes=["ingest", "read", "stream", "callbacks", "metrics"],
        )
    people = {}
    for name, user in {"officer": officer, "admin": admin_user}.items():
        people[name] = Client()
        people[name].force_login(user)
    people["key"] = Client(headers={"Authorization": f"Bearer {raw}"})
    pair = token_pair_for(officer, organisation, methods=["pwd"])
    people["token"] = Client(headers={"Authorization": f"Bearer {pair.access}"})
    return people


def _routes(patterns=None, prefix=""):
    """Every URL pattern of the product (not admin's) with the names of its arguments."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            if str(pattern.pattern).startswith("admin/"):
                continue
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def _url(route: str, objects: dict) -> str:
    """`route` with organisation A's objects in its arguments."""
    values = {
        "reference": objects["case"].reference,
        "version": objects["candidate"].version,
        "job_id": objects["upload"].pk,
        "kind_name": "closure",
        "request_id": objects["approval"].pk,
        "decision": "approve",
        "action": "comment",
        "attachment_id": objects["attachment"].pk,
        "item_id": objects["checklist_item"].pk,
        "alert_id": objects["suppressed_alert"].pk,
        "review": "dismiss",
        "action_id": objects["proposal"].pk,
    }
    by_prefix = {
        "api/v1/callbacks/": objects["endpoint"].pk,
        "api/v1/deliveries/": objects["delivery"].pk,
        "api/v1/transactions/": objects["transaction"].pk,
        "api/v1/models/promotions/": objects["promotion"].pk,
        "api/v1/experiments/": objects["experiment"].pk,
        "notifications/": objects["notification"].pk,
        "api/v1/exports/": objects["export"].pk,
        "exports/": objects["export"].pk,
        "models/retrain/": objects["retrain_run"].pk,
        "api/v1/investigations/": objects["investigation"].pk,
        "api/v1/agent-actions/": objects["proposal"].pk,
    }

    def value(match):
        name = match.group("name")
        if name == "pk":
            return str(next(v for p, v in by_prefix.items() if route.startswith(p)))
        return str(values[name])

    route = re.sub(r"\(\?P<(?P<name>\w+)>[^)]*\)", value, route).replace("^", "").replace("$", "")
    route = re.sub(r"<(?:\w+:)?(?P<name>\w+)>", value, route)
    return "/" + route


def test_every_route_with_an_object_is_a_404_for_another_organisations_people_and_keys(theirs, ours, settings):
    routes = [(route, p) for route, p in _routes() if "<" in route]
    assert len(routes) >= 20, [r for r, _ in routes]
    answered = {}
    for route, _pattern in routes:
        url = _url(route, theirs)
        for who, client in ours.items():
            for method in ("get", "post"):
                response = getattr(client, method)(url, **({"data": {}, "content_type": "application/json"}
                                                            if method == "post" else {}))  # fmt: skip
                status = response.status_code
                if status == 302 and response["Location"].startswith(settings.LOGIN_URL):
                    status = 401  # a page asks an API key's caller to sign in
                answered[(url, who, method)] = status
    # 404 where the route names an object; 401, 403 or 405 where the caller may not use the route at all.
    leaked = {k: status for k, status in answered.items() if status not in (401, 403, 404, 405)}
    assert not leaked, f"another organisation's objects answered: {leaked}"
    # Nothing changed on their side.
    theirs["case"].refresh_from_db()
    assert theirs["case"].status == Case.Status.PENDING_APPROVAL
    assert theirs["promotion"].__class__.objects.get(pk=theirs["promotion"].pk).is_pending


LISTS = [
    "/api/v1/cases/",
    "/api/v1/callbacks/",
    "/api/v1/deliveries/",
    "/api/v1/models/",
    "/api/v1/experiments/",
    "/api/v1/models/promotions/",
    "/api/v1/drift/",
    "/cases/",
    "/mentions/",
    "/approvals/",
    "/recommendations/",
    "/ingest/uploads/",
    "/api/v1/exports/",
    "/exports/",
    "/",
]


def test_no_list_shows_another_organisations_rows(theirs, ours):
    secrets = [theirs["case"].reference, theirs["transaction"].external_id, "acc-theirs", "hooks.example", "a.csv"]
    for url in LISTS:
        for who, client in ours.items():
            response = client.get(url)
            if response.status_code in (401, 403) or (response.status_code == 302 and who in ("key", "token")):
                continue  # not theirs to use (a page asks a bearer's caller to sign in)
            assert response.status_code == 200, (url, who, response.status_code)
            body = response.content.decode()
            shown = [s for s in secrets if s in body]
            assert not shown, f"{who} sees {shown} of another organisation on {url}"


def test_admin_pages_of_another_organisations_objects_are_not_found(theirs, ours):
    client = ours["admin"]
    for model in admin.site._registry:
        if model._meta.label in NOT_OWNED or not hasattr(model.objects, "for_organisation"):
            continue
        obj = model.objects.for_organisation(default_organisation()).first()
        if obj is None:
            continue
        info = (model._meta.app_label, model._meta.model_name)
        change = client.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
        # Django admin answers an object it cannot find with a redirect to the index and a message.
        assert change.status_code in (302, 403, 404), (model._meta.label, change.status_code)
        listing = client.get(reverse("admin:{}_{}_changelist".format(*info)))
        if listing.status_code == 200:
            assert f"/{obj.pk}/change/" not in listing.content.decode(), model._meta.label


def test_users_of_another_organisation_are_not_listed_for_an_org_admin(theirs, ours):
    body = ours["admin"].get("/admin/auth/user/").content.decode()
    assert "b-officer" in body and "a-analyst" not in body


def test_one_person_belongs_to_one_organisation(make_user, organisation):
    from django.db import IntegrityError

    from organisations.models import Membership

    user = make_user("analyst", "solo")
    with pytest.raises(IntegrityError):
        Membership.objects.create(user=user, organisation=organisation)


def test_external_ids_and_case_references_are_unique_per_organisation(champion, organisation):
    records = [suspicious_record(7, account_id="acc-shared")]
    first = ingest(records, organisation=default_organisation(), source="acme", actor="tests")
    with organisation_context(organisation):
        copy_model_version(champion, status=ModelVersion.Status.CHAMPION)  # B's own champion
    second = ingest(records, organisation=organisation, source="acme", actor="tests")
    assert (first.accepted, second.accepted) == (1, 1) and not second.duplicates
    assert Transaction.objects.for_all_organisations().filter(external_id="tx-7").count() == 2
    references = set(Case.objects.for_all_organisations().values_list("reference", flat=True))
    assert len(references) == 1  # each organisation numbers its own cases from 1


def test_verify_audit_checks_each_organisations_chain_on_its_own(champion, organisation):
    ingest([transaction_record(1)], organisation=default_organisation(), source="acme", actor="tests")
    out = StringIO()
    call_command("verify_audit", "--organisation", "default", stdout=out)
    assert out.getvalue().startswith("Audit chain of default OK")
    call_command("verify_audit", stdout=out)
    assert "Audit chain of harbour OK: 0 events verified." in out.getvalue()
