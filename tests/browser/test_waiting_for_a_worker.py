"""The processing page says plainly when no worker is alive, and stops saying it once one beats."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from fundushub.uploads.heartbeat import beat
from tests.conftest import form_data, fundus_jpeg

pytestmark = pytest.mark.browser


def test_the_processing_page_says_when_no_worker_is_alive_and_clears_when_one_beats(pages, world):
    client = Client()
    client.force_login(world.alice)
    upload = [SimpleUploadedFile("a.jpg", fundus_jpeg(3), "image/jpeg")]
    response = client.post("/direct/upload", {**form_data(world), "files": upload})
    page = pages.new()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load")
    page.goto(response["Location"])

    hint = page.locator("#worker-hint")
    expect(hint).to_be_visible()
    expect(hint).to_contain_text("Waiting for a worker — ask your administrator.")

    beat("browser-test-worker", timezone.now())  # a worker starts (but takes no task here)
    page.get_by_role("button", name="Refresh now").click()
    expect(hint).to_be_hidden()
