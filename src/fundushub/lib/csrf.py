"""Django's own CSRF check, run at a moment the view chooses instead of before the view.

CsrfViewMiddleware reads the whole form (request.POST) to find the token, even when the header
carries it; for an upload that means staging every file before the check. A view that is
csrf_exempt calls csrf_refusal() itself: with no fields before the body is read (the header
decides), or with the fields received so far (the form sends its token before its files).
"""

from django.http import QueryDict
from django.middleware.csrf import CsrfViewMiddleware


class _FieldsSoFar:
    """The request as the CSRF check sees it: its form is only the fields received so far."""

    def __init__(self, request, fields):
        self._request = request
        self.POST = fields

    def __getattr__(self, name):
        return getattr(self._request, name)


def _protected(request):  # the view the check guards: anything not marked csrf_exempt
    raise AssertionError("never called")


def csrf_refusal(request, fields=None):
    """Django's 403 response when the request's CSRF token (header, else fields) fails; else None."""
    check = CsrfViewMiddleware(_protected)
    seen = _FieldsSoFar(request, fields if fields is not None else QueryDict())
    return check.process_view(seen, _protected, (), {})
