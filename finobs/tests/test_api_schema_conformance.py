"""The API answers as its OpenAPI schema says: schemathesis generates requests from /api/schema/ for every
operation (valid and invalid ones) and checks each answer: no server error, a documented status code, a
documented content type, a body that fits the schema, and no valid request refused. It runs twice: as an
integrator's API key with every scope, and as a signed-in admin (a session, with its CSRF token)."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from conftest import default_organisation, suspicious_record, transaction_record

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

EXAMPLES = settings(
    max_examples=10,
    deadline=None,
    derandomize=True,  # the same requests on every run: a failure is reproducible
    suppress_health_check=list(HealthCheck),
    database=None,
)


@pytest.fixture
def wsgi_keeps_the_test_connection():
    """Requests go through Django's WSGI handler in this process, inside the test's transaction: its end of
    request must not close the connection the test runs on (Django's test client does the same)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def world(champion, make_user, settings, wsgi_keeps_the_test_connection):
    """Something behind every route: decisions, a case, a callback endpoint and delivery, a promotion request."""
    from apikeys.services import api_key_create
    from delivery.services import callback_endpoint_create, deliveries_fan_out
    from ingestion.services import ingest

    admin = make_user("org_admin", "schemathesis-admin")
    key, raw = api_key_create(
        organisation=default_organisation(), name="schemathesis", source="acme",
        scopes=["ingest", "read", "stream", "callbacks", "metrics"],
        rate_limit="100000/min",
    )  # fmt: skip
    # Hundreds of requests a minute, retraining among them: the person's limits too, as the key's.
    settings.USER_API_RATE = "100000/min"
    settings.USER_EXPENSIVE_RATES = dict.fromkeys(settings.USER_EXPENSIVE_RATES, "100000/min")
    ingest(
        [transaction_record(1), suspicious_record(2, account_id="acc-st")],
        organisation=default_organisation(),
        source="acme",
        actor="tests",
    )
    settings.CALLBACK_ALLOW_PRIVATE = True  # no DNS here: a receiver on this machine (port 9: nobody listens)
    callback_endpoint_create(name="hooks", url="http://127.0.0.1:9/in", event_types=["decision.created"],
                             api_key=key, owner=None, actor="tests")  # fmt: skip
    deliveries_fan_out()
    return admin, raw


# Over WSGI schemathesis sends requests' Accept-Encoding (gzip) but reads bodies undecoded: ask for them plain
# (kernel/tests/test_json_compression.py checks compression).
IDENTITY = {"Accept-Encoding": "identity"}


def excluded(case) -> list:
    """Checks that do not apply to what an operation is meant to do.

    A valid request may still be refused by a rule no schema expresses (the SSRF guard resolving a callback
    URL, an API key's endpoint taking only its source's decisions, a case's state, time windows): a
    documented 400 or 409. And an ingest batch answers 200 as long as one item is valid, listing the others
    in `errors`: an item that breaks the schema does not reject the batch.
    """
    checks = [positive_data_acceptance]
    if case.path == "/api/v1/transactions/ingest":
        checks.append(negative_data_rejection)
    return checks


def conformance_failures(headers: dict) -> list[str]:
    """Every operation, valid and invalid requests, all checks; what failed, one line per operation and mode."""
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())

    @schema.auth()
    class Credentials:
        """The caller's credentials on every request: the auth checks know to take them off."""

        def get(self, case, context):
            return headers

        def set(self, case, data, context):
            case.headers = {**(case.headers or {}), **data}

    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in schemathesis.GenerationMode:

            @given(case=operation.as_strategy(generation_mode=mode, auth_storage=schema.auth))
            @EXAMPLES
            def check(case):
                if "/stream/" not in case.path:  # an endless response: test_streams_sse.py checks it
                    case.call_and_validate(headers=IDENTITY, excluded_checks=excluded(case))

            try:
                check()
            except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup is an exception group
                failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {exc}")
    return failures


def test_an_api_key_meets_the_schema(world):
    _, raw = world
    failures = conformance_failures({"Authorization": f"Bearer {raw}"})
    assert not failures, "\n\n".join(failures)


def test_a_signed_in_person_meets_the_schema(world, client):
    admin, _ = world
    client.force_login(admin)
    secret = _get_new_csrf_string()
    headers = {
        "Cookie": f"sessionid={client.cookies['sessionid'].value}; csrftoken={secret}",
        "X-CSRFToken": _mask_cipher_secret(secret),
    }
    failures = conformance_failures(headers)
    assert not failures, "\n\n".join(failures)
