"""ingestion's pages (CSV uploads), mounted at the site root by finobs/urls.py."""

urlpatterns: list = []
