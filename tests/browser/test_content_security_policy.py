"""Every main page runs under the Content-Security-Policy with nothing refused: no inline script,
event handler or style attribute is left, and nothing loads from another origin. (The `pages`
fixture fails a test on any CSP violation the browser reports; this one visits every page.)"""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from fundushub.camera.models import CameraFile, CameraSession, Subject
from tests.conftest import form_data, fundus_jpeg, run_worker, store_image

pytestmark = pytest.mark.browser


def sign_in_as(page, username):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load")


# What a page's script does once the page has loaded, by the sign it leaves when it is done.
SETTLED = {
    "#editor": ("data-ready", "true"),  # the editor has drawn its image
    "#viewer-frame": ("data-scale", re.compile(r"^[0-9]")),  # the viewer has fitted its image
}


def visit(page, path):
    """Open `path`, wait until its scripts have done what they do after load, and return the
    response (its headers are checked)."""
    response = page.goto(path)
    page.wait_for_load_state("load")
    for selector, (attribute, value) in SETTLED.items():
        if page.locator(selector).count():
            expect(page.locator(selector)).to_have_attribute(attribute, value)
    return response


def visit_while_it_polls(page, path):
    """`visit`, and wait for the page's first status poll to be answered as well."""
    with page.expect_response(lambda r: "/api/upload-jobs/" in r.url) as polled:
        response = visit(page, path)
    polled.value.finished()
    return response


def assert_policies(response, path):
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "style-src 'self'" in policy, path
    assert "unsafe-inline" not in policy, path
    assert "camera=()" in response.headers.get("permissions-policy", ""), path


def an_unfinished_job(world):
    client = Client()
    client.force_login(world.alice)
    uploads = [SimpleUploadedFile("a.jpg", fundus_jpeg(7), "image/jpeg")]
    response = client.post("/direct/upload", {**form_data(world), "files": uploads})
    assert response.status_code == 303
    return response["Location"].rstrip("/").rsplit("/", 1)[1]


def a_camera_session(world, image):
    subject = Subject.objects.create(subject_identifier="105-77", site=world.st_lucia)
    session = CameraSession.objects.create(subject=subject, hospital=world.st_lucia)
    CameraFile.objects.create(
        session=session,
        file_type="left",
        original_filename="left.jpg",
        size=image.size,
        sha256=image.sha256,
        md5=image.md5,
        mime=image.content_type,
        capture_datetime=timezone.now(),
        image=image,
    )
    return session


def test_no_page_breaks_the_content_security_policy(pages, world):
    image = store_image(world, 3)
    session = a_camera_session(world, image)
    job_id = an_unfinished_job(world)

    anonymous = pages.new()
    for path in ["/accounts/login/", "/api/docs/", "/no-such-page"]:
        response = visit(anonymous, path)
        assert_policies(response, path)
        if path == "/api/docs/":  # Swagger UI starts from its script file, not inline
            anonymous.wait_for_selector(".swagger-ui .info")

    alice = pages.new()
    sign_in_as(alice, "alice")
    assert_policies(visit(alice, "/direct/upload"), "/direct/upload")
    processing = f"/direct/upload/processing/{job_id}"
    assert_policies(visit_while_it_polls(alice, processing), processing)
    assert_policies(visit(alice, "/direct/upload/jobs"), "/direct/upload/jobs")
    run_worker()
    assert_policies(visit(alice, f"/direct/upload/results/{job_id}"), "results")

    mary = pages.new()
    sign_in_as(mary, "mary")
    for path in [
        "/direct/dashboard",
        f"/direct/images/{image.id}",
        f"/direct/images/{image.id}/editor",
        f"/direct/images/{image.id}/edit",
        "/camera/sessions",
        f"/camera/sessions/{session.id}",
    ]:
        assert_policies(visit(mary, path), path)

    root = pages.new()
    sign_in_as(root, "root")
    for path in ["/admin/", "/admin/accounts/user/", "/admin/accounts/user/add/"]:
        assert_policies(visit(root, path), path)

    # A media file opened on its own in a tab: shown, and under its own stricter policy.
    response = visit(mary, f"/images/{image.id}/view")
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy and "script-src" not in policy
    assert mary.evaluate("document.images.length") == 1
