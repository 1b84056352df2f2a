"""Answer health probes, and scrapes holding the metrics token, before the rest of the stack.

Load balancers and Prometheus reach each node by its address, over plain HTTP on the inside:
their Host is not in ALLOWED_HOSTS and HTTPS=true would redirect them. These answers carry no
URL and no content from the Host header, so answering them first is safe; everything else,
and /metrics without the token (staff sign in), goes the ordinary way.
"""

from django.urls import resolve

from fundushub.operations.metrics import token_matches

PROBES = ("/health/live", "/health/ready")
METRICS = "/metrics"


def _early(request) -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    if request.path_info in PROBES:
        return True
    return request.path_info == METRICS and token_matches(request)


def answer_probes(get_response):
    def middleware(request):
        if not _early(request):
            return get_response(request)
        request.resolver_match = match = resolve(request.path_info)
        return match.func(request, *match.args, **match.kwargs)

    return middleware
