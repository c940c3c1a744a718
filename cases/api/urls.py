"""cases API routes, mounted under /api/v1/ by finobs/api/urls.py."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from cases.api.views import AvailabilityView, CaseViewSet, TransactionSearchView

router = SimpleRouter()
router.register("cases", CaseViewSet, basename="case")

urlpatterns = [
    path("transactions/", TransactionSearchView.as_view(), name="transaction-search"),
    path("availability/", AvailabilityView.as_view(), name="availability"),
    *router.urls,
]
