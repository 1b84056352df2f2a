"""Every page fits its window (issue 11, C21): at 390 px (a phone), 768 px (a tablet) and 1366 px
(a laptop) no page scrolls sideways — document.documentElement.scrollWidth is at most the
viewport's width — with real data on it (long file names, a job with failures, a camera session).

Screenshots of each page at each width are saved under test-output/screenshots/widths/.
"""

import hashlib
from datetime import UTC, datetime

import pytest

from fundushub.camera.models import CameraDevice, CameraFile, CameraSession, Subject
from fundushub.store import blobs
from fundushub.uploads.models import ItemState, UploadItem, UploadJob
from tests.browser.conftest import screenshot
from tests.conftest import make_user, store_image

pytestmark = pytest.mark.browser

WIDTHS = (390, 768, 1366)
LONG_NAME = "IMG_20261201_143012_Topcon_TRC-NW400_export_left_eye_macula_centred_0001.jpg"
REPORT = b"<!DOCTYPE html><html><body><h1>Fundus report</h1></body></html>"


def a_world_with_data(world):
    """Direct images (one with a long name and an edit), a finished job with a failure and a
    left-out duplicate, an unfinished job, and a camera session with images and a report."""
    from fundushub.accounts import roles

    images = [store_image(world, seed) for seed in range(3)]
    images.append(store_image(world, 3, original_filename=LONG_NAME))
    job = UploadJob.objects.create(
        user=world.alice,
        hospital=world.st_lucia,
        lab_unit=world.retina,
        camera=world.topcon,
        disease=world.dr,
        area=world.left,
        rejected=[{"filename": "already-" + LONG_NAME, "reason": "Duplicate file"}],
    )
    UploadItem.objects.create(
        job=job, position=0, filename=LONG_NAME, state=ItemState.COMPLETED, image=images[3]
    )
    UploadItem.objects.create(
        job=job,
        position=1,
        filename="notes-" + LONG_NAME,
        state=ItemState.ERROR,
        detail="Invalid file type: text/plain. Only JPG/PNG allowed.",
    )
    running = UploadJob.objects.create(
        user=world.alice,
        hospital=world.st_lucia,
        lab_unit=world.retina,
        camera=world.topcon,
        disease=world.dr,
        area=world.left,
    )
    UploadItem.objects.create(job=running, position=0, filename=LONG_NAME, state=ItemState.QUEUED)

    camera_user = make_user("camera-1", roles.UPLOADER, [world.retina])
    device = CameraDevice.objects.create(
        device_id="RET-CAM-001", hospital=world.st_lucia, lab_unit=world.retina, user=camera_user
    )
    subject = Subject.objects.create(subject_identifier="105-10-0989-3", site=world.st_lucia)
    session = CameraSession.objects.create(subject=subject, hospital=world.st_lucia, device=device)
    captured = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)  # not the day it arrived
    for seed, eye, area in ((10, "left", world.left), (11, "right", world.right)):
        image = store_image(
            world,
            seed,
            user=None,
            source="camera",
            area=area,
            subject_identifier="105-10-0989-3",
            original_filename="3f2c9a4e-8d1b-4c7a-9e55-0b6f1d2a7c31.jpg",
        )
        CameraFile.objects.create(
            session=session,
            file_type=eye,
            original_filename=f"3f2c9a4e-8d1b-4c7a-9e55-0b6f1d2a7c3{seed}.jpg",
            size=image.size,
            sha256=image.sha256,
            md5=image.md5,
            mime="image/jpeg",
            capture_datetime=captured,
            device=device,
            image_state="stored",
            image=image,
        )
    sha = hashlib.sha256(REPORT).hexdigest()
    blobs.write_bytes(blobs.original_key(sha), REPORT)
    CameraFile.objects.create(
        session=session,
        file_type="report",
        original_filename="report-" + LONG_NAME.replace(".jpg", ".html"),
        size=len(REPORT),
        sha256=sha,
        md5=hashlib.md5(REPORT, usedforsecurity=False).hexdigest(),
        mime="text/html",
        capture_datetime=captured,
        device=device,
    )
    return images, job, running, session


def pages_by_role(images, job, running, session):
    """(role's username or None, name, path) for every main page."""
    image = images[3]
    return [
        (None, "login", "/accounts/login/"),
        ("alice", "upload", "/direct/upload"),
        ("alice", "processing", f"/direct/upload/processing/{running.id}"),
        ("alice", "results", f"/direct/upload/results/{job.id}"),
        ("alice", "recent-jobs", "/direct/upload/jobs"),
        ("alice", "images", "/direct/dashboard"),
        ("alice", "viewer", f"/direct/images/{image.id}"),
        ("alice", "edit-metadata", f"/direct/images/{image.id}/edit"),
        ("alice", "editor", f"/direct/images/{images[0].id}/editor"),
        ("mary", "images-manager", "/direct/dashboard"),
        ("mary", "camera-sessions", "/camera/sessions"),
        ("mary", "camera-session", f"/camera/sessions/{session.id}"),
        ("gina", "viewer-grader", f"/direct/images/{image.id}"),
        ("gina", "images-grader", "/direct/dashboard"),
        ("alice", "not-found", "/direct/images/00000000-0000-0000-0000-000000000000"),
        ("root", "admin", "/admin/"),
        ("root", "admin-images", "/admin/images/image/"),
        ("root", "admin-camera-sessions", "/admin/camera/camerasession/"),
        # Reached by a POST from the dashboard: select every image, then the action.
        ("alice", "bulk-edit", ("/direct/dashboard", "Edit Selected")),
        ("alice", "bulk-delete", ("/direct/dashboard", "Delete Selected")),
    ]


def open_page(page, path):
    if isinstance(path, tuple):
        start, action = path
        page.goto(start)
        page.get_by_label("Select all visible").check()
        page.get_by_role("button", name=action).click()
        page.wait_for_url("**/direct/images/bulk")
    else:
        page.goto(path)
    page.wait_for_load_state("load")


def sign_in_as(page, username):
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "/accounts/login/" not in page.url, f"{username} could not sign in"


def overflow(page) -> dict:
    """The page's width beyond the viewport, and the widest elements that stick out."""
    return page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          const wide = [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > width + 1)
            .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
                 (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : ''))
            .slice(0, 8);
          return {scroll: document.documentElement.scrollWidth, width: window.innerWidth, wide};
        }"""
    )


def test_no_page_scrolls_sideways_at_phone_tablet_and_laptop_widths(pages, world):
    data = a_world_with_data(world)
    problems = []
    contexts = {}
    for username, name, path in pages_by_role(*data):
        for width in WIDTHS:
            key = (username, width)
            if key not in contexts:
                page = pages.new(viewport={"width": width, "height": 800})
                if username:
                    sign_in_as(page, username)
                contexts[key] = page
            page = contexts[key]
            open_page(page, path)
            found = overflow(page)
            screenshot(page, f"widths/{name}-{width}")
            if found["scroll"] > width:
                problems.append(f"{name} at {width}px: {found['scroll']}px wide; {found['wide']}")
    assert not problems, "Pages wider than the window:\n" + "\n".join(problems)


def test_the_header_fits_on_a_phone(pages, world):
    make_user("ann", "Admin", [world.retina], superuser=True)
    page = pages.new(viewport={"width": 390, "height": 800})
    sign_in_as(page, "ann")  # an admin has every menu entry
    header = page.locator(".topbar").bounding_box()
    assert header["width"] <= 390
    items = [i for i in page.locator(".topbar a, .topbar button").all() if i.is_visible()]
    assert len(items) >= 6  # brand, Upload, Images, Camera sessions, Admin, Sign out
    for item in items:
        box = item.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, item.text_content()
    screenshot(page, "widths/header-admin-390")
