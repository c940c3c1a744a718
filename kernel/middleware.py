"""What the application adds to its responses: no storing by browsers or proxies, and gzip for large JSON."""

from django.conf import settings
from django.middleware.gzip import GZipMiddleware
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


class JsonGZipMiddleware(GZipMiddleware):
    """gzip for JSON responses of at least GZIP_MIN_BYTES, to clients that accept it; nothing else.

    A 10,000-item ingest answer is 1.5 MB of JSON, about 105 KB gzipped. Pages stay uncompressed: they
    carry CSRF tokens and other secrets next to what people typed, and compressed lengths would let an
    attacker read them (BREACH). Streaming responses (the SSE feed) pass untouched: each event must reach
    the client when it is sent, not when a compressor's buffer fills. Django's GZipMiddleware does the
    rest: Accept-Encoding, Vary, a body already encoded, the Content-Length, a strong ETag made weak.
    """

    def process_response(self, request, response):
        if response.streaming or not _is_json(response) or len(response.content) < settings.GZIP_MIN_BYTES:
            return response
        return super().process_response(request, response)


def _is_json(response) -> bool:
    media_type = response.get("Content-Type", "").partition(";")[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))
