"""cases API routes, mounted under /api/v1/ by finobs/api/urls.py."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from cases.api.investigations import AgentActionViewSet, InvestigationViewSet
from cases.api.views import CaseViewSet

router = SimpleRouter()
router.register("cases", CaseViewSet, basename="case")

urlpatterns = [
    *router.urls,
    path("cases/<str:reference>/investigations", CaseViewSet.as_view({"post": "investigations"}),
         name="case-investigations"),
    path("investigations/<int:pk>", InvestigationViewSet.as_view({"get": "retrieve"}), name="investigation-detail"),
    path("agent-actions/<int:pk>/accept", AgentActionViewSet.as_view({"post": "accept"}), name="agent-action-accept"),
    path("agent-actions/<int:pk>/reject", AgentActionViewSet.as_view({"post": "reject"}), name="agent-action-reject"),
]  # fmt: skip
