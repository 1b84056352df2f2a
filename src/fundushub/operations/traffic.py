"""Requests and their latency per route, counted by the outermost middleware.

Labelled by the resolved URL pattern's name (`camera:upload`), never the raw path: a path holds
subject ids and job tokens, one series each would be unbounded (and would leak them).
"""

import time

from django.conf import settings
from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "fundushub_http_requests",
    "HTTP requests answered, by URL route name, method and status code",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "fundushub_http_request_duration_seconds",
    "Time from a request's arrival in Django to its response, by URL route name and method",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
UNMATCHED = "unmatched"  # no URL pattern: an unknown path, or refused before resolving
STATIC = "static"  # served by whitenoise before any URL pattern is tried


def route(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name
    if request.path_info.startswith(settings.STATIC_URL):
        return STATIC
    return UNMATCHED


def count_requests(get_response):
    def middleware(request):
        start = time.perf_counter()
        response = get_response(request)
        elapsed = time.perf_counter() - start
        name = route(request)
        method = request.method if request.method in METHODS else "other"
        REQUESTS.labels(name, method, str(response.status_code)).inc()
        LATENCY.labels(name, method).observe(elapsed)
        return response

    return middleware
