"""`/health/live` and `/health/ready`: JSON for load balancers and monitors, no sign-in.

live: the process answers (no database, no storage), so a supervisor restarts only a stuck process.
ready: 200 when every check of checks.py passes, 503 naming the ones that do not. It reports the
whole installation, workers included: a balancer that should keep serving pages while the
workers are down probes live instead.
"""

from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from fundushub.operations import checks


def _json(body: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status)
    response["X-Content-Type-Options"] = "nosniff"
    return response


@never_cache
@require_safe
def live(request):
    return _json({"status": "live"})


@never_cache
@require_safe
def ready(request):
    results = checks.run_all()
    is_ready = all(result["status"] == "ok" for result in results.values())
    body = {"status": "ready" if is_ready else "not ready", "checks": results}
    return _json(body, 200 if is_ready else 503)
