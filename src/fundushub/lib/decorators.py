"""View decorators every app may use (the one home for them; they know no app)."""

from functools import wraps

from django.http import JsonResponse


def json_login_required(view):
    """login_required, but answering 401 JSON instead of redirecting a script to a login page."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return JsonResponse({"error": "Authentication required"}, status=401)
        return view(request, *args, **kwargs)

    return wrapped
