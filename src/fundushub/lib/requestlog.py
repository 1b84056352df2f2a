"""One log line per request, and a request id that follows the request through the logs.

The id is the inbound X-Request-ID when a proxy we trust (settings.TRUSTED_PROXIES) sent a sane
one, so the proxy's access log and ours name the same request; anyone else could choose ids that
collide or mislead, so theirs is replaced by a fresh one. The id is echoed as a response header
and, through RequestIdFilter, carried by every line logged while the request runs (an item
processed in the request included) until its response is closed: Django logs a 4xx or 5xx
answer after the middleware has returned, and that line names the request too.

The line names the URL's route pattern, never the raw path: paths carry subject identifiers and
ids, and a pattern groups the same view's requests. The duration is the application's, until the
view returns (a streamed download goes on after it).
"""

import contextvars
import ipaddress
import logging
import re
import time
import uuid

from django.conf import settings
from django.core.signals import request_finished
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty

from fundushub.lib.client_ip import parse_networks

HEADER = "X-Request-ID"
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
log = logging.getLogger("fundushub.requests")


def current_request_id() -> str | None:
    return _current.get()


class RequestIdFilter(logging.Filter):
    """Adds the running request's id to a line that does not name one."""

    def filter(self, record):
        if getattr(record, "request_id", None) is None and (request_id := _current.get()):
            record.request_id = request_id
        return True


def _from_trusted_proxy(request) -> bool:
    networks = parse_networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))
    try:
        peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR") or "")
    except ValueError:
        return False
    if peer.version == 6 and peer.ipv4_mapped:
        peer = peer.ipv4_mapped
    return any(peer in network for network in networks)


def request_id_for(request) -> str:
    inbound = request.META.get("HTTP_X_REQUEST_ID", "")
    if inbound and _SANE.match(inbound) and _from_trusted_proxy(request):
        return inbound
    return uuid.uuid4().hex


def _user(request) -> dict | None:
    """Who made the request, if the request already knows (never a query just for the log)."""
    user = getattr(request, "user", None)
    if user is None or (isinstance(user, LazyObject) and user._wrapped is empty):
        return None
    if not user.is_authenticated:
        return None
    return {"id": user.pk, "username": user.get_username()}


def _route(request) -> tuple[str | None, str | None]:
    match = getattr(request, "resolver_match", None)
    if match is None:  # not resolved: a static file, a 404, or refused before the URL conf
        return None, None
    return "/" + match.route, match.view_name


def _log(request, response, request_id: str, started: float) -> None:
    ms = round(1000 * (time.perf_counter() - started), 1)
    route, view = _route(request)
    fields = {
        "event": "request",
        "request_id": request_id,
        "user": _user(request),
        "route": route,
        "view": view,
        "method": request.method,
        "status": response.status_code,
        "duration_ms": ms,
    }
    # A camera's requests name its device (set by the camera API's authentication).
    if device := getattr(getattr(request, "auth", None), "device_id", None):
        fields["device"] = device
    log.info(
        "%s %s %s %.1f ms", request.method, route or "-", response.status_code, ms, extra=fields
    )


def request_log(get_response):
    """Middleware, outermost: it times everything the others do."""

    def middleware(request):
        started = time.perf_counter()
        request.request_id = request_id = request_id_for(request)
        _current.set(request_id)  # this thread's, until the response is closed
        response = get_response(request)
        response[HEADER] = request_id
        _log(request, response, request_id, started)
        return response

    return middleware


@receiver(request_finished)
def _forget_request_id(**kwargs):
    _current.set(None)
