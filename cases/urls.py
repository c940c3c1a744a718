"""The analyst workspace pages, mounted at the site root by finobs/urls.py."""

from django.contrib.auth import views as auth_views
from django.urls import path, re_path

from cases import views

app_name = "cases"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("cases/", views.worklist, name="worklist"),
    path("cases/bulk-assign", views.bulk_assign, name="bulk-assign"),
    path("cases/<str:reference>/", views.case_detail, name="detail"),
    path("cases/<str:reference>/similar", views.case_similar, name="similar"),
    path("cases/<str:reference>/mentions/read", views.mentions_read, name="mentions-read"),
    re_path(
        r"^cases/(?P<reference>[^/]+)/(?P<action>claim|assign|transition|escalate|comment|close|share)$",
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
]
