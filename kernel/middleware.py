"""Responses that carry people's data are never stored by browsers or proxies."""

from django.utils.cache import patch_cache_control


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every response the application makes (cases, transactions, decisions
    and audit data reach pages and the API alike), unless a view chose its own caching. Static files are
    served before this (WhiteNoise) and keep theirs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            patch_cache_control(response, no_store=True, private=True)
        return response
