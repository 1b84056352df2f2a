"""Signing in: each role lands on a page it may open, an ended session is said so, and next=
never leads to a page that only takes a POST."""

import uuid

import pytest

from fundushub.accounts import roles
from fundushub.accounts.views import SESSION_ENDED, SIGNED_IN_COOKIE
from tests.conftest import make_user, store_image


def sign_in(client, username, next_url=None):
    data = {"username": username, "password": "pw"}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/accounts/login/", data)


def lands_on(client, username, next_url=None):
    """Where signing in sends the user, and what that page answers."""
    response = sign_in(client, username, next_url)
    assert response.status_code == 302, response.content[:300]
    target = response["Location"]
    page = client.get(target, follow=True)
    return target, page.status_code


@pytest.mark.parametrize(
    "username, landing",
    [
        ("alice", "/direct/upload"),  # uploader
        ("mary", "/direct/upload"),  # data manager
        ("root", "/direct/upload"),  # admin
        ("gina", "/direct/dashboard"),  # grader
    ],
)
def test_it_sends_each_role_to_a_page_it_may_open(client, world, username, landing):
    target, status = lands_on(client, username)
    assert target == landing
    assert status == 200


def test_it_sends_staff_without_a_clinic_role_to_the_admin_site(client, world):
    it = make_user("ivan", roles.UPLOADER, [])
    it.groups.clear()
    it.is_staff = True
    it.save()
    target, status = lands_on(client, "ivan")
    assert target == "/admin/"
    assert status == 200


@pytest.mark.parametrize(
    "username, landing",
    [("alice", "/direct/upload"), ("gina", "/direct/dashboard"), ("root", "/direct/upload")],
)
def test_the_home_page_and_logo_lead_each_role_to_a_page_it_may_open(
    client, world, username, landing
):
    client.force_login(getattr(world, username))
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == landing
    assert client.get(landing).status_code == 200
    assert 'class="brand" href="/"' in client.get(landing).content.decode()


def test_the_home_page_asks_a_stranger_to_sign_in(client, world):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_returns_to_the_page_the_user_was_on(client, world):
    image = store_image(world)
    target, status = lands_on(client, "gina", f"/direct/images/{image.id}")
    assert (target, status) == (f"/direct/images/{image.id}", 200)


def test_it_returns_to_the_viewer_not_to_the_grade_forms_post_only_address(client, world):
    image = store_image(world)
    target, status = lands_on(client, "gina", f"/direct/images/{image.id}/grade")
    assert (target, status) == (f"/direct/images/{image.id}", 200)


@pytest.mark.parametrize(
    "posted_to, page",
    [
        ("/direct/images/bulk", "/direct/dashboard"),
        ("/direct/images/{id}/restore", "/direct/images/{id}/editor"),
        ("/accounts/logout/", "/"),
    ],
)
def test_it_never_returns_to_another_post_only_address(client, world, posted_to, page):
    image = store_image(world)
    target, status = lands_on(client, "alice", posted_to.format(id=image.id))
    assert target == page.format(id=image.id)
    assert status == 200


def test_every_page_that_refuses_a_get_has_a_page_to_return_to(client, world):
    """Any URL answering 405 to a GET must be in FORM_PAGES, or next= could lead there."""
    from django.urls import get_resolver

    from fundushub.accounts.views import page_to_return_to

    client.force_login(world.root)
    image = store_image(world)
    post_only = []
    for pattern, name in _page_patterns(get_resolver()):
        url = "/" + pattern.replace("<uuid:image_id>", str(image.id)).replace(
            "<uuid:job_id>", str(uuid.uuid4())
        )
        if "<" in url or url.startswith(("/api/", "/admin/")):
            continue
        if client.get(url).status_code == 405:
            post_only.append(url)
            assert page_to_return_to(url) != url, f"{name} ({url}) has no page to return to"
    assert "/accounts/logout/" in post_only
    assert f"/direct/images/{image.id}/grade" in post_only


def _page_patterns(resolver, prefix=""):
    from django.urls import URLPattern, URLResolver

    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            yield from _page_patterns(p, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.name


def test_it_refuses_a_next_address_on_another_site(client, world):
    target, _ = lands_on(client, "gina", "https://evil.example/phish")
    assert target == "/direct/dashboard"


def test_the_sign_in_page_says_when_a_session_has_ended(client, world):
    sign_in(client, "alice")
    assert SIGNED_IN_COOKIE in client.cookies
    client.post("/accounts/logout/")  # in another tab, say
    response = client.get("/direct/upload", follow=True)
    assert response.request["PATH_INFO"] == "/accounts/login/"
    assert SESSION_ENDED in response.content.decode()


def test_it_keeps_the_sign_in_marker_only_as_an_http_only_cookie(client, world):
    response = sign_in(client, "alice")
    cookie = response.cookies[SIGNED_IN_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_a_first_visit_is_not_called_an_ended_session(client, world):
    response = client.get("/direct/upload", follow=True)
    assert response.request["PATH_INFO"] == "/accounts/login/"
    assert SESSION_ENDED not in response.content.decode()


def test_signing_out_on_purpose_shows_no_ended_session(client, world):
    sign_in(client, "alice")
    response = client.post("/accounts/logout/", follow=True)
    assert response.request["PATH_INFO"] == "/accounts/login/"
    assert SESSION_ENDED not in response.content.decode()


def test_a_post_only_address_with_two_ids_returns_to_the_page_of_the_one_it_names():
    from fundushub.accounts.views import page_to_return_to

    exam, image = uuid.uuid4(), uuid.uuid4()
    url = f"/examinations/{exam}/images/{image}/move"
    assert page_to_return_to(url) == f"/examinations/{exam}"
    assert page_to_return_to(f"/grading/examinations/{exam}/release") == (
        f"/grading/examinations/{exam}/grade"
    )
