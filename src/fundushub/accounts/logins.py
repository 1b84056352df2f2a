"""Failed sign-ins: audited with address and browser, and throttled by django-axes.

Axes counts failures per username and per address (settings.AXES_*); once either reaches the limit,
every attempt (the right password too) is refused until the cool-off has passed or an administrator
deletes the lock (admin: Axes › Access attempts). Each refused attempt restarts the cool-off.
"""

import math

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.template.response import TemplateResponse

from fundushub.accounts.models import User
from fundushub.audit.models import record


def cool_off_minutes() -> int:
    return max(1, math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60))


def lockout_message() -> str:
    minutes = cool_off_minutes()
    wait = "1 minute" if minutes == 1 else f"{minutes} minutes"
    return (
        f"Too many failed sign-ins. Try again in {wait}, or ask an administrator to lift the lock."
    )


def lockout_response(request, original_response=None, credentials=None):
    """The sign-in page it came from (the site's or the admin's), with the lockout message in
    place of "wrong password" and status 429, instead of axes' bare text page."""
    context = dict(getattr(original_response, "context_data", None) or {})
    form = context.get("form")
    if form is not None and form.is_bound:
        form.errors.clear()  # the generic "didn't match" is not the reason any more
        form.add_error(None, lockout_message())
    context["lockout_message"] = lockout_message()
    template = getattr(original_response, "template_name", None) or "registration/login.html"
    return TemplateResponse(request, template, context, status=429).render()


def _target(username):
    if not username:
        return None
    return User.objects.filter(username=username).first()


def _audit(action, request, username):
    username = (username or "")[:150]
    if request is None:
        record(action, obj=_target(username), username=username)
        return
    record(
        action,
        user=None,
        obj=_target(username),
        request=request,
        username=username,
        path=request.path[:200],
    )


def on_login_failed(sender, credentials, request=None, **kwargs):
    _audit("login.failed", request, credentials.get("username"))


def on_locked_out(sender, request=None, username=None, **kwargs):
    _audit("login.locked_out", request, username)


def connect() -> None:
    user_login_failed.connect(on_login_failed, dispatch_uid="fundushub.login_failed")
    user_locked_out.connect(on_locked_out, dispatch_uid="fundushub.locked_out")
