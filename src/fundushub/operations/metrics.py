"""`/metrics` in Prometheus's text format, for staff and for a scraper holding the token.

Anyone else gets the site's ordinary 404, so the route is not advertised. The token is compared
in constant time and never logged. With PROMETHEUS_MULTIPROC_DIR set (several web processes, and
workers on the same machine), the counters and histograms of every process sharing that folder
are summed; the database gauges are read at scrape time either way (collector.py).
"""

import hashlib
import hmac
import os

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from fundushub.operations.collector import DatabaseCollector


def _digest(value: str) -> bytes:
    # Equal-length digests, so the comparison's time tells nothing about the token's length.
    return hashlib.sha256(value.encode()).digest()


def token_matches(request) -> bool:
    """`Authorization: Bearer <FUNDUSHUB_METRICS_TOKEN>`; never true while no token is set."""
    expected = settings.FUNDUSHUB_METRICS_TOKEN
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if not expected or scheme.lower() != "bearer" or not given.strip():
        return False
    return hmac.compare_digest(_digest(given.strip()), _digest(expected))


def allowed(request) -> bool:
    user = getattr(request, "user", None)  # absent when probes.py answers before sign-in
    return bool(user and user.is_authenticated and user.is_staff) or token_matches(request)


class _Scrape:
    """This process's (or every process's) metrics, then the database's."""

    def __init__(self, *collectors):
        self.collectors = collectors

    def collect(self):
        for collector in self.collectors:
            yield from collector.collect()


def exposition() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    return generate_latest(_Scrape(processes, DatabaseCollector()))


@never_cache
@require_safe
def metrics(request):
    if not allowed(request):
        raise Http404
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
