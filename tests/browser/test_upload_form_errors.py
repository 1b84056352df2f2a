"""The upload form's errors: each missing field is named and marked where it is, and an error
goes away once it no longer applies."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in
from tests.conftest import fundus_jpeg

JPEG = "image/jpeg"


def expect_marked(page, field, message):
    control = page.locator(f"#{field}")
    expect(control).to_have_attribute("aria-invalid", "true")
    expect(control).to_have_attribute("aria-describedby", f"{field}-error")
    expect(page.locator(f"#{field}-error")).to_have_text(message)


def expect_unmarked(page, field):
    expect(page.locator(f"#{field}")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#{field}-error")).to_be_hidden()


@pytest.mark.parametrize("width", [1366, 390])
def test_each_missing_field_is_named_where_it_is_until_it_is_filled(pages, world, width):
    page = pages.new(viewport={"width": width, "height": 768 if width > 400 else 844})
    sign_in(page, "mary")  # one hospital (chosen for her), two lab units: none chosen yet
    expect(page.get_by_label("St Lucia")).to_be_checked()
    page.get_by_role("button", name="Upload Images").click()

    expect(page.locator("#form-error")).to_have_text("All fields are required")
    expect_marked(page, "lab_unit", "Choose a lab unit")
    expect_marked(page, "camera", "Choose a camera")
    expect_marked(page, "disease", "Choose a disease")
    expect_marked(page, "area", "Choose an area")
    expect(page.locator("#hospital-error")).to_be_hidden()
    expect(page.get_by_label("Lab Unit")).to_be_focused()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"upload-missing-fields-{width}")

    page.get_by_label("Lab Unit").select_option(label="Screening")
    expect_unmarked(page, "lab_unit")
    expect_marked(page, "camera", "Choose a camera")
    expect(page.locator("#form-error")).to_have_text("All fields are required")

    page.get_by_label("Camera").select_option(label=world.topcon.name)
    page.get_by_label("Disease").select_option(label="DR")
    page.get_by_label("Area").select_option(label="Left eye")
    for field in ("lab_unit", "camera", "disease", "area"):
        expect_unmarked(page, field)
    expect(page.locator("#form-error")).to_be_hidden()


def test_no_selected_file_goes_once_files_are_chosen(pages, world):
    page = pages.new()
    sign_in(page, "alice")
    page.get_by_label("Camera").select_option(label=world.topcon.name)
    page.get_by_label("Disease").select_option(label="DR")
    page.get_by_label("Area").select_option(label="Left eye")
    page.get_by_role("button", name="Upload Images").click()
    expect(page.locator("#form-error")).to_have_text("No selected file")
    expect(page.locator("#files")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#files-error")).to_be_visible()

    page.locator("#files").set_input_files(
        [{"name": f"f{i}.jpg", "mimeType": JPEG, "buffer": fundus_jpeg(seed=i)} for i in range(15)]
    )
    expect(page.locator("#file-list li")).to_have_count(15)
    expect(page.locator("#form-error")).to_be_hidden()
    expect(page.locator("#files")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#files-error")).to_be_hidden()
    screenshot(page, "upload-fifteen-files-chosen")


def test_an_error_the_server_answered_also_marks_the_fields_and_goes_when_filled(pages, world):
    page = pages.new()
    sign_in(page, "mary")
    # Sent as a plain form post (as without script): the server answers the error page.
    page.evaluate("HTMLFormElement.prototype.submit.call(document.getElementById('upload-form'))")
    page.wait_for_load_state()
    expect(page.locator("#form-error")).to_have_text("All fields are required")
    expect_marked(page, "lab_unit", "Choose a lab unit")
    page.get_by_label("Lab Unit").select_option(label="Retina")
    page.get_by_label("Camera").select_option(label=world.topcon.name)
    page.get_by_label("Disease").select_option(label="DR")
    page.get_by_label("Area").select_option(label="Left eye")
    expect(page.locator("#form-error")).to_be_hidden()
    expect_unmarked(page, "area")
