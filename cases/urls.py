"""The analyst workspace pages, mounted at the site root by finobs/urls.py."""

from django.contrib.auth import views as auth_views
from django.urls import path, re_path

from cases import evidence_views, views

app_name = "cases"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("cases/", views.worklist, name="worklist"),
    path("cases/bulk-assign", views.bulk_assign, name="bulk-assign"),
    path("cases/bulk", evidence_views.bulk_change, name="bulk-change"),
    path("cases/suppressed/", evidence_views.suppressed_alerts, name="suppressed"),
    re_path(
        r"^cases/suppressed/(?P<alert_id>[0-9]+)/(?P<review>dismiss|open-case)$",
        evidence_views.suppressed_alert_review,
        name="suppressed-review",
    ),
    path("cases/new", views.case_new, name="new"),
    path("transactions/", views.transaction_search, name="transactions"),
    path("availability/", views.availability, name="availability"),
    path("cases/<str:reference>/", views.case_detail, name="detail"),
    path("cases/<str:reference>/similar", views.case_similar, name="similar"),
    path("cases/<str:reference>/sar", views.case_sar, name="sar"),
    path("cases/<str:reference>/mentions/read", views.mentions_read, name="mentions-read"),
    re_path(
        r"^cases/(?P<reference>[^/]+)/(?P<action>claim|assign|transition|escalate|comment|close|share|legal-hold)$",
        views.case_action,
        name="action",
    ),
    path("cases/<str:reference>/investigation", views.case_investigation, name="investigation"),
    path("cases/<str:reference>/investigate", views.case_investigate, name="investigate"),
    re_path(
        r"^cases/(?P<reference>[^/]+)/proposals/(?P<action_id>\d+)/(?P<decision>accept|reject)$",
        views.proposal_decide,
        name="proposal-decide",
    ),
    path("recommendations/", views.recommendations, name="recommendations"),
    path("mentions/", views.mentions, name="mentions"),
    path("cases/<str:reference>/attachments/", evidence_views.attachments, name="attachments"),
    path("cases/<str:reference>/attachments/upload", evidence_views.attachment_upload, name="attachment-upload"),
    path(
        "cases/<str:reference>/attachments/<int:attachment_id>/download",
        evidence_views.attachment_download,
        name="attachment-download",
    ),
    path("cases/<str:reference>/checklist/", evidence_views.checklist, name="checklist"),
    path(
        "cases/<str:reference>/checklist/<int:item_id>/tick", evidence_views.checklist_item_tick, name="checklist-tick"
    ),
    path("cases/<str:reference>/decision-feedback", evidence_views.decision_feedback, name="decision-feedback"),
]
