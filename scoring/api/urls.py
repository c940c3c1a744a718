"""scoring API routes, mounted under /api/v1/ by finobs/api/urls.py."""

from django.urls import path

from scoring.api import views

urlpatterns = [
    path("transactions/<int:pk>/", views.TransactionDetailView.as_view(), name="transaction-detail"),
    path("transactions/<int:pk>/explanation", views.TransactionExplanationView.as_view(),
         name="transaction-explanation"),
    path("models/", views.ModelLeaderboardView.as_view(), name="model-leaderboard"),
    path("models/retrain", views.ModelRetrainView.as_view(), name="model-retrain"),
    path("models/rollback", views.ModelRollbackView.as_view(), name="model-rollback"),
    path("models/promotions/", views.PromotionRequestListView.as_view(), name="model-promotions"),
    path("models/promotions/<int:pk>/approve", views.PromotionDecisionView.as_view(decision="approve"),
         name="model-promotion-approve"),
    path("models/promotions/<int:pk>/reject", views.PromotionDecisionView.as_view(decision="reject"),
         name="model-promotion-reject"),
    path("models/<int:version>/promote", views.ModelPromoteView.as_view(), name="model-promote"),
    path("drift/", views.DriftView.as_view(), name="drift"),
    path("experiments/", views.ExperimentListView.as_view(), name="experiments"),
    path("experiments/<int:pk>/stop", views.ExperimentStopView.as_view(), name="experiment-stop"),
]  # fmt: skip
