"""The analyst workspace pages, mounted at the site root by finobs/urls.py."""

urlpatterns: list = []
