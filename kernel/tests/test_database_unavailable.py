"""A request that fails because the database does not answer: 503 with Retry-After, for the API its error body,
for pages a plain page; any other failure stays a 500."""

import pytest
from django.db import OperationalError
from django.test import Client
from django.urls import path
from rest_framework.views import APIView

from kernel.api.errors import DATABASE_RETRY_AFTER_S


def page_needing_the_database(request):
    raise OperationalError("connection refused")


def page_with_a_bug(request):
    raise ValueError("a bug")


class ApiNeedingTheDatabase(APIView):
    authentication_classes = ()
    permission_classes = ()

    def get(self, request):
        raise OperationalError("server closed the connection unexpectedly")


urlpatterns = [
    path("page", page_needing_the_database),
    path("bug", page_with_a_bug),
    path("api/v1/thing", ApiNeedingTheDatabase.as_view()),
]
handler500 = "kernel.api.errors.server_error"

pytestmark = pytest.mark.urls(__name__)


@pytest.fixture
def client():
    return Client(raise_request_exception=False)


def test_the_api_answers_503_with_retry_after_and_its_error_body(client):
    response = client.get("/api/v1/thing")
    assert response.status_code == 503
    assert response["Retry-After"] == str(DATABASE_RETRY_AFTER_S)
    assert response.json()["code"] == "database_unavailable"
    assert set(response.json()) == {"code", "message", "details"}


def test_a_page_answers_a_plain_503_page(client, settings):
    settings.DEBUG = False
    response = client.get("/page")
    assert response.status_code == 503
    assert response["Retry-After"] == str(DATABASE_RETRY_AFTER_S)
    assert response["Content-Type"].startswith("text/html")
    assert b"Nothing you sent in this request was saved" in response.content


def test_another_failure_stays_a_500(client, settings):
    settings.DEBUG = False
    response = client.get("/bug")
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
