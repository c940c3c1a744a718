"""Prometheus metrics of the HTTP requests a process answers: how many, by view, method and status, and how long.

Every label stays within a fixed set whatever clients send, so a scan of random paths or ids adds no
series: the view is the name of the route the path resolved to (`case-detail`, `cases:worklist`;
an unnamed route gives its view's dotted path), never the path; a path that resolves to nothing is
`unmatched` (files under STATIC_URL are `static`); a method outside the standard ones is `other`; the
status is the response's code. finobs.metrics exposes them at `GET /metrics`.
"""

import time

from django.conf import settings
from prometheus_client import Counter, Histogram

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"

REQUESTS = Counter(
    "finobs_http_requests_total", "HTTP requests answered, by view, method and status.", ["view", "method", "status"]
)
# Without the status, so a view has one latency distribution per method (its errors are in the counter).
REQUEST_DURATION = Histogram(
    "finobs_http_request_duration_seconds",
    "Time from a request entering the application to its response starting, by view and method.",
    ["view", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def view_label(request) -> str:
    """The name of the route `request` resolved to, `static` or `unmatched`: never anything the client chose."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name
    if request.path.startswith(settings.STATIC_URL):
        return "static"
    return UNMATCHED


class RequestMetricsMiddleware:
    """Counts and times every request the application answers (first in MIDDLEWARE: the whole chain).

    A streaming response (the SSE decisions feed) is counted and timed when the view returns it, as its
    response starts: an open stream is in the figures at once, and its duration is not how long it stays
    open. The route is known once the chain has run, so the labels are read after the response.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        view = view_label(request)
        method = request.method if request.method in METHODS else "other"
        REQUEST_DURATION.labels(view, method).observe(time.perf_counter() - started)
        REQUESTS.labels(view, method, str(response.status_code)).inc()
        return response
