"""Checks at capture in a real browser: the results page follows the checks still running until
they land, and the viewer shows them (screenshots for the docs' eyes)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from playwright.sync_api import expect

from fundushub.store.models import Image
from tests.browser.conftest import screenshot
from tests.checks.results import add_result, all_flagged, four_checks  # noqa: F401
from tests.conftest import form_data, fundus_jpeg, run_worker, store_image

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("four_checks")]


def signed_in(pages, username="alice"):
    page = pages.new()
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load")
    return page


def test_the_results_page_shows_each_files_checks_as_they_land(pages, world, settings):
    settings.FUNDUSHUB_CHECKS = False  # stored without queueing checks: the test lands them
    client = Client()
    client.force_login(world.alice)
    files = [
        SimpleUploadedFile(name, fundus_jpeg(n), "image/jpeg")
        for n, name in enumerate(("a.jpg", "b.jpg"))
    ]
    response = client.post("/direct/upload", {**form_data(world), "files": files})
    run_worker()
    settings.FUNDUSHUB_CHECKS = True
    page = signed_in(pages)
    page.goto(response["Location"])  # processing: finished, so on to the results
    page.wait_for_url("**/direct/upload/results/**")
    a = Image.objects.get(original_filename="a.jpg")
    b = Image.objects.get(original_filename="b.jpg")
    cell_a = page.locator(f'[data-checks-for="{a.pk}"]')
    cell_b = page.locator(f'[data-checks-for="{b.pk}"]')
    expect(cell_a).to_have_text("Checking…")
    add_result(a, "gradability", "ungradable", "looks blurred", True)
    for name in ("laterality", "near_duplicate", "burned_text"):
        add_result(a, name, "pass")
    expect(cell_a).to_contain_text(
        "Looks blurred — recapture while the patient is here", timeout=10_000
    )
    expect(cell_a).not_to_contain_text("Checking…")
    expect(cell_b).to_contain_text("Checking…")  # b's checks have not landed
    screenshot(page, "checks-results")


def test_the_viewer_shows_the_checks_at_capture(pages, world):
    twin = store_image(world, 1)
    image = store_image(world, 2)
    all_flagged(image, twin)
    image.checks.filter(name="gradability").update(
        values={"sharpness": 0.21, "brightness": 31.0, "glare": 0.0, "contrast": 0.14}
    )
    page = signed_in(pages)
    page.goto(f"/direct/images/{image.pk}")
    panel = page.locator("#checks")
    expect(panel).to_contain_text("Looks blurred; too dark — recapture while the patient is here")
    expect(panel.get_by_role("link", name="Review masks in the editor")).to_be_visible()
    panel.get_by_role("link", name="Open the other image").click()
    page.wait_for_url(f"**/direct/images/{twin.pk}")
    page.go_back()
    panel.scroll_into_view_if_needed()
    screenshot(page, "checks-viewer")


def test_the_quality_page_sets_the_graders_u_beside_the_automatic_verdict(pages, graders):
    from tests.grading.pages import dr_programme
    from tests.grading.test_gradability_agreement import build_fixture

    dr_programme()  # a transactional test before may have flushed the default programmes
    build_fixture(graders)
    page = signed_in(pages, "sophie")
    page.goto("/grading/quality?date_from=2026-03-01&date_to=2026-04-30")
    section = page.locator("#gradability-agreement")
    expect(section).to_contain_text("Agreement 62.5 % · 5 of 8 images")
    expect(section.get_by_role("link", name="Download CSV")).to_be_visible()
    section.scroll_into_view_if_needed()
    screenshot(page, "checks-quality")
