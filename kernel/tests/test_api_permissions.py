"""ScopeOrPermission: API keys by scope, people by Django permission, nobody else."""

import pytest
from django.urls import path
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from kernel.api.permissions import ScopeOrPermission

pytestmark = pytest.mark.django_db


class ProbeView(APIView):
    permission_classes = [ScopeOrPermission]
    required_scope = "read"
    required_perms = {"GET": ("scoring.view_transaction",), "POST": ("scoring.promote_model",)}

    def get(self, request):
        return Response({"ok": True})

    def post(self, request):
        return Response({"ok": True})


class PeopleOnlyView(ProbeView):
    required_scope = None


urlpatterns = [path("probe", ProbeView.as_view()), path("people", PeopleOnlyView.as_view())]


@pytest.fixture(autouse=True)
def _urls(settings):
    settings.ROOT_URLCONF = __name__


def test_person_needs_the_method_permission(make_user):
    client = APIClient()
    client.force_authenticate(make_user("viewer"))
    assert client.get("/probe").status_code == 200
    assert client.post("/probe").status_code == 403


def test_anonymous_is_refused():
    assert APIClient().get("/probe").status_code in (401, 403)


def test_api_key_needs_the_scope(api_key):
    _key, raw = api_key
    client = APIClient(HTTP_X_WEBHOOK_KEY=raw)
    assert client.get("/probe").status_code == 200
    assert client.get("/people").status_code == 403


class RaisesDjangoErrorsView(APIView):
    permission_classes = []

    def get(self, request, kind):
        from django.core.exceptions import PermissionDenied
        from django.http import Http404

        raise {"404": Http404("no such case"), "403": PermissionDenied()}[kind]


urlpatterns.append(path("django/<str:kind>", RaisesDjangoErrorsView.as_view()))


@pytest.mark.parametrize(("kind", "status", "code"), [("404", 404, "not_found"), ("403", 403, "permission_denied")])
def test_django_http404_and_permission_denied_get_the_error_shape(kind, status, code):
    response = APIClient().get(f"/django/{kind}")
    assert response.status_code == status
    assert response.json()["code"] == code
