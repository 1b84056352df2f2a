"""The "Pre-graded set" toggle in a real browser: sent with the upload, remembered, stored."""

import re

import pytest
from playwright.sync_api import expect

from fundushub.store.models import GradingStatus, Image
from fundushub.uploads.models import UploadJob
from tests.browser.conftest import drop_files, screenshot, sign_in
from tests.browser.test_direct_upload import JPEG, fill_form
from tests.conftest import fundus_jpeg

pytestmark = pytest.mark.browser


def test_a_data_manager_uploads_a_pre_graded_set_and_the_toggle_is_remembered(
    pages, world, workers
):
    page = pages.new()
    sign_in(page, "mary")
    # upload.js has run (it turns the browser's own validation off first thing).
    page.wait_for_function("() => document.getElementById('upload-form').noValidate")
    fill_form(page)
    toggle = page.get_by_role("switch", name="Pre-graded set")
    page.get_by_text("Pre-graded set", exact=True).click()  # the words set it too
    expect(toggle).to_be_checked()
    drop_files(page, [("graded-elsewhere.jpg", fundus_jpeg(seed=21), JPEG)])
    expect(page.locator("#file-list li .status")).to_have_text("Ready", timeout=15_000)
    screenshot(page, "upload-form-pre-graded")
    page.get_by_role("button", name="Upload Images").click()
    page.wait_for_url(re.compile(r"/direct/upload/processing/[0-9a-f-]{36}$"))
    assert UploadJob.objects.get().pre_graded is True
    workers.start()
    page.wait_for_url("**/direct/upload/results/*", timeout=30_000)
    assert Image.objects.get().grading_status == GradingStatus.PRE_GRADED

    page.goto("/direct/upload")
    expect(page.get_by_role("switch", name="Pre-graded set")).to_be_checked()


def test_an_uploader_has_no_pre_graded_toggle(pages, world):
    page = pages.new()
    sign_in(page, "alice")
    expect(page.get_by_role("switch", name="Mydriatic")).to_be_visible()
    expect(page.get_by_text("Pre-graded set")).to_have_count(0)
