"""Error pages in the site's layout, each with a way back (home, and the page before); the JSON
APIs under /api/ keep JSON errors. Wired as handler400/403/404/500 in urls.py, and for 405 as a
middleware: require_http_methods answers a bare, empty HttpResponseNotAllowed."""

from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import requires_csrf_token

CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    500: "server_error",
}
MESSAGES = {
    400: "Bad request",
    403: "You do not have permission to do this",
    404: "Not found",
    405: "Method not allowed",
    500: "Server error",
}


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def _json(status, message=""):
    return JsonResponse(
        {"code": CODES[status], "error": message or MESSAGES[status]}, status=status
    )


def _back_url(request) -> str:
    """The page the user came from, when it is one of ours (the "Go back" link without script)."""
    referer = request.headers.get("Referer", "")
    try:
        host = request.get_host()
    except Exception:  # a 400 for a disallowed Host: no page of ours to go back to
        return ""
    same_site = url_has_allowed_host_and_scheme(referer, {host}, request.is_secure())
    if not same_site or referer == request.build_absolute_uri():
        return ""
    return referer


def _page(request, status, **context):
    context["back_url"] = _back_url(request)
    return render(request, f"{status}.html", context, status=status)


@requires_csrf_token
def bad_request(request, exception):
    if _is_api(request):
        return _json(400)
    return _page(request, 400)


@requires_csrf_token
def permission_denied(request, exception):
    # Our own PermissionDenied messages are written for the user ("Only graders may record grades.").
    message = exception.args[0] if exception.args and isinstance(exception.args[0], str) else ""
    if _is_api(request):
        return _json(403, message)
    return _page(request, 403, reason=message)


def page_not_found(request, exception):
    if _is_api(request):
        return _json(404)
    return _page(request, 404)


@requires_csrf_token
def server_error(request):
    if _is_api(request):
        return _json(500)
    # No request context: whatever failed (the database, a context processor) must not fail again.
    return _server_error_page()


def _server_error_page():
    return HttpResponseServerError(loader.get_template("500.html").render())


def method_not_allowed_page(get_response):
    """Gives the empty 405 of require_http_methods a body: the site's page, or JSON under /api/."""

    def middleware(request):
        response = get_response(request)
        if response.status_code != 405 or response.streaming or response.content:
            return response
        if _is_api(request):
            page = _json(405, f"Method {request.method} not allowed; use {response['Allow']}")
        else:
            page = _page(request, 405)
        page["Allow"] = response.get("Allow", "")
        return page

    return middleware
