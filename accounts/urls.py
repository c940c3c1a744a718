"""Sign-in's second step, mounted at the site root by finobs/urls.py."""

from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("accounts/second-factor/", views.second_factor, name="second-factor"),
    path("accounts/support/", views.support, name="support"),
]
