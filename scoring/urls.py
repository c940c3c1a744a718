"""Retraining pages, mounted at the site root by finobs/urls.py."""

from django.urls import path

from scoring import views

app_name = "scoring"

urlpatterns = [
    path("models/retrain", views.retrain, name="retrain"),
    path("models/retrain/<int:pk>/", views.retrain_run, name="retrain-run"),
]
