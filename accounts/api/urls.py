"""accounts API routes, mounted under /api/v1/ by finobs/api/urls.py."""

from django.urls import path

from accounts.api import views

urlpatterns = [
    path("auth/token", views.TokenObtainView.as_view(), name="auth-token"),
    path("auth/token/refresh", views.TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("auth/logout", views.LogoutView.as_view(), name="auth-logout"),
]
