"""cases API routes, mounted under /api/v1/ by finobs/api/urls.py."""

urlpatterns: list = []
