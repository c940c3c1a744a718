"""cases API routes, mounted under /api/v1/ by finobs/api/urls.py."""

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from cases.api.evidence import (
    AttachmentDownloadView,
    CaseAttachmentsView,
    CaseBulkView,
    CaseMergeView,
    ChecklistTickView,
    ChecklistView,
    DecisionFeedbackView,
    SuppressedAlertReviewView,
    SuppressedAlertsView,
)
from cases.api.investigations import AgentActionViewSet, InvestigationViewSet
from cases.api.views import AvailabilityView, CaseViewSet, TransactionSearchView

router = SimpleRouter()
router.register("cases", CaseViewSet, basename="case")

urlpatterns = [
    path("cases/bulk", CaseBulkView.as_view(), name="case-bulk"),
    path("cases/<str:reference>/merge", CaseMergeView.as_view(), name="case-merge"),
    path("cases/<str:reference>/attachments/", CaseAttachmentsView.as_view(), name="case-attachments"),
    path(
        "cases/<str:reference>/attachments/<int:attachment_id>/download",
        AttachmentDownloadView.as_view(),
        name="case-attachment-download",
    ),
    path("cases/<str:reference>/checklist/", ChecklistView.as_view(), name="case-checklist"),
    path("cases/<str:reference>/checklist/<int:item_id>/tick", ChecklistTickView.as_view(), name="case-checklist-tick"),
    path("cases/<str:reference>/decision-feedback", DecisionFeedbackView.as_view(), name="case-decision-feedback"),
    path("suppressed-alerts/", SuppressedAlertsView.as_view(), name="suppressed-alerts"),
    re_path(
        r"^suppressed-alerts/(?P<alert_id>[0-9]+)/(?P<review>dismiss|open-case)$",
        SuppressedAlertReviewView.as_view(),
        name="suppressed-alert-review",
    ),
    path("transactions/", TransactionSearchView.as_view(), name="transaction-search"),
    path("availability/", AvailabilityView.as_view(), name="availability"),
    *router.urls,
    path("cases/<str:reference>/investigations", CaseViewSet.as_view({"post": "investigations"}),
         name="case-investigations"),
    path("investigations/<int:pk>", InvestigationViewSet.as_view({"get": "retrieve"}), name="investigation-detail"),
    path("agent-actions/<int:pk>/accept", AgentActionViewSet.as_view({"post": "accept"}), name="agent-action-accept"),
    path("agent-actions/<int:pk>/reject", AgentActionViewSet.as_view({"post": "reject"}), name="agent-action-reject"),
]  # fmt: skip
