"""Error pages (DEBUG=False): 400/403/404/405/500 in the site's layout with a way back, JSON
under /api/, no traceback in the log for an ordinary 403, and a favicon."""

import io
import logging
import uuid

import pytest
from django.core.exceptions import BadRequest, PermissionDenied
from django.urls import path

from fundushub.urls import handler400, handler403, handler404, handler500, urlpatterns  # noqa: F401
from tests.conftest import store_image


def _bad(request):
    raise BadRequest("malformed")


def _broken(request):
    raise RuntimeError("a fault in the server")


def _forbidden(request):
    raise PermissionDenied


# This module doubles as a URLconf: the site's URLs and handlers, plus two that fail on purpose.
urlpatterns = [
    path("test-errors/bad", _bad),
    path("test-errors/broken", _broken),
    path("api/test-errors/broken", _broken),
    path("test-errors/forbidden", _forbidden),
    *urlpatterns,
]


@pytest.fixture(autouse=True)
def production(settings):
    settings.DEBUG = False
    settings.ROOT_URLCONF = __name__


def assert_in_layout(response, status, heading):
    body = response.content.decode()
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert '<header class="topbar">' in body  # base.html
    assert f"Error {status}" in body
    assert heading in body
    assert '<a class="btn btn-primary" href="/">Home</a>' in body
    assert "data-go-back>Go back</a>" in body
    return body


def test_a_missing_page_is_a_404_in_the_layout(client, world):
    client.force_login(world.alice)
    body = assert_in_layout(client.get("/no/such/page"), 404, "Page not found")
    assert "/no/such/page" in body
    assert "alice" in body  # the user's own header, menu and sign-out


def test_an_image_outside_your_lab_units_is_a_404_in_the_layout(client, world):
    image = store_image(world, lab_unit=world.outpatients, user=world.bob)
    client.force_login(world.alice)
    assert_in_layout(client.get(f"/direct/images/{image.id}"), 404, "Page not found")


def test_a_grader_on_the_upload_page_gets_a_403_in_the_layout(client, world):
    client.force_login(world.gina)
    body = assert_in_layout(client.get("/direct/upload"), 403, "You may not open this page")
    assert "gina" in body and "Grader" in body


def test_a_403_shows_the_reason_the_server_gave(client, world):
    image = store_image(world)
    client.force_login(world.alice)
    response = client.post(f"/direct/images/{image.id}/grade", {"grade": "R0"})
    body = assert_in_layout(response, 403, "You may not open this page")
    assert "Only graders may record grades." in body


def test_a_get_on_a_post_only_address_is_a_405_in_the_layout(client, world):
    image = store_image(world)
    client.force_login(world.gina)
    response = client.get(f"/direct/images/{image.id}/grade", HTTP_REFERER="http://testserver/x")
    body = assert_in_layout(response, 405, "cannot be opened directly")
    assert response["Allow"] == "POST"
    assert 'href="http://testserver/x" data-go-back' in body  # back, even without script


def test_a_bad_request_is_a_400_in_the_layout(client, world):
    client.force_login(world.alice)
    assert_in_layout(client.get("/test-errors/bad"), 400, "could not be understood")


def test_a_server_fault_is_a_500_in_the_layout(client, world):
    client.raise_request_exception = False
    client.force_login(world.alice)
    body = assert_in_layout(client.get("/test-errors/broken"), 500, "went wrong on the server")
    assert "a fault in the server" not in body  # nothing of the exception leaks


def test_an_expired_form_token_is_a_403_that_says_so(world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world.gina)
    image = store_image(world)
    response = client.post(f"/direct/images/{image.id}/grade", {"grade": "R0"})
    assert_in_layout(response, 403, "This form has expired")


@pytest.mark.parametrize(
    "method, url, status",
    [
        ("get", "/api/no/such/thing", 404),
        ("get", "/api/upload-jobs/{job}/status", 404),
        ("post", "/api/upload-jobs/{job}/status", 405),
        ("get", "/api/direct-upload/duplicates", 405),
        ("get", "/api/test-errors/broken", 500),
    ],
)
def test_the_json_apis_keep_json_errors(client, world, method, url, status):
    client.raise_request_exception = False
    client.force_login(world.alice)
    response = getattr(client, method)(url.format(job=uuid.uuid4()))
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]


@pytest.fixture
def log():
    """What the server's console handler writes."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream = io.StringIO()
    old = handler.setStream(stream)
    yield stream
    handler.setStream(old)


def test_an_ordinary_403_is_one_log_line_without_a_traceback(client, world, log):
    client.force_login(world.gina)
    client.get("/direct/upload")
    client.get("/test-errors/forbidden")
    text = log.getvalue()
    assert text.count("Forbidden (Permission denied): /direct/upload") == 1
    assert "Traceback" not in text


def test_a_500_still_logs_its_traceback(client, world, log):
    client.raise_request_exception = False
    client.get("/test-errors/broken")
    assert "Traceback" in log.getvalue()
    assert "RuntimeError: a fault in the server" in log.getvalue()


def test_the_favicon_answers_at_the_address_browsers_ask_for(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"] == "/static/fundushub/favicon.svg"
    icon = client.get(response["Location"])
    assert icon.status_code == 200
    assert icon["Content-Type"] == "image/svg+xml"


def test_every_page_links_the_favicon(client, world):
    body = client.get("/accounts/login/").content.decode()
    assert '<link rel="icon" href="/static/fundushub/favicon.svg" type="image/svg+xml">' in body


def test_a_request_for_another_host_name_is_a_400_in_the_layout_without_a_traceback(
    client, world, settings, log
):
    settings.ALLOWED_HOSTS = ["testserver"]
    response = client.get("/direct/upload", HTTP_HOST="evil.example", HTTP_REFERER="http://x/")
    body = assert_in_layout(response, 400, "could not be understood")
    assert 'href="/" data-go-back' in body  # no way back to a host we do not answer to
    assert "Invalid HTTP_HOST header" in log.getvalue()
    assert "Traceback" not in log.getvalue()
