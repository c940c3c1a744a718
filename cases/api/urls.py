"""cases API routes, mounted under /api/v1/ by finobs/api/urls.py."""

from rest_framework.routers import SimpleRouter

from cases.api.views import CaseViewSet

router = SimpleRouter()
router.register("cases", CaseViewSet, basename="case")

urlpatterns = router.urls
