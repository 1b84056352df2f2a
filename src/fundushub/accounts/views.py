"""Signing in and the home page: every role lands on a page it may open."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import NoReverseMatch, Resolver404, resolve, reverse

from fundushub.accounts.roles import can_upload

# Set at sign-in and kept after sign-out or expiry: a later sign-in page asked for with ?next=
# then knows a session has ended (in this tab or another), not that someone is new here.
SIGNED_IN_COOKIE = "fundushub_signed_in"
SESSION_ENDED = "Your session has ended — sign in again to return to the page you were on."

# POST-only URLs that a form sent after the session ended leaves in ?next=, and the page that form
# is on: following next= there with a GET would only answer 405 "Method Not Allowed".
FORM_PAGES = {
    "image-grade": "image-viewer",
    "image-restore": "image-editor",
    "image-text-review": "image-editor",
    "images-bulk": "dashboard",
    "logout": "home",
    "grading-start": "grading-worklist",
    "grading-release": "grading-grade",
    "grading-revise": "grading-grade",
    "examination-move-image": "examination",
}


def landing_url(user) -> str:
    """The page a user starts on: uploaders (and managers) upload; everyone else browses images,
    except staff with no role in the clinic, who have only the admin site."""
    if can_upload(user):
        return reverse("upload")
    if user.is_staff and not user.groups.exists():
        return reverse("admin:index")
    return reverse("dashboard")


def page_to_return_to(url: str) -> str:
    """next= as given, unless it is a POST-only URL: then the page whose form posts there."""
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return url
    page = FORM_PAGES.get(match.url_name)
    if page is None:
        return url
    # The same image's or examination's page: all of the URL's ids, then each one, then none.
    for kwargs in (match.kwargs, *({k: v} for k, v in match.kwargs.items()), {}):
        try:
            return reverse(page, kwargs=kwargs)
        except NoReverseMatch:
            continue
    return reverse("home")


@login_required
def home(request):
    return redirect(landing_url(request.user))


class SignInView(auth_views.LoginView):
    def get_success_url(self):
        url = self.get_redirect_url()
        return page_to_return_to(url) if url else landing_url(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        request = self.request
        context["session_ended"] = (
            request.method == "GET"
            and bool(context.get(self.redirect_field_name))
            and not request.user.is_authenticated
            and SIGNED_IN_COOKIE in request.COOKIES
        )
        context["session_ended_message"] = SESSION_ENDED
        return context

    def form_valid(self, form):
        response = super().form_valid(form)
        response.set_cookie(
            SIGNED_IN_COOKIE,
            "1",
            max_age=max(settings.SESSION_COOKIE_AGE, 30 * 24 * 3600),
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
        return response
