"""Burned-in text in the editor, in a real browser: the masks are in place when it opens, one undo
takes them away, and saving blacks out the text and answers the flag."""

import io

import pytest
from PIL import Image as PILImage
from playwright.sync_api import expect

from fundushub.checks.models import ImageCheck
from fundushub.store import blobs
from tests.browser.conftest import screenshot, sign_in
from tests.browser.test_image_editor import open_editor, preview_pixel, saved
from tests.conftest import fundus_jpeg, store_image

pytestmark = pytest.mark.browser

NEXT = "/direct/upload/jobs"
BOX = [220, 200, 200, 40]  # on the orange disc of a 640 × 480 original, shown 1:1


def test_the_editor_opens_with_masks_over_burned_in_text_and_saving_answers_the_flag(pages, world):
    image = store_image(world, data=fundus_jpeg(9))
    check = ImageCheck.objects.create(
        image=image,
        name="burned_text",
        version=1,
        verdict="flag",
        flagged=True,
        values={"boxes": [BOX], "count": 1, "characters": [12]},
    )
    page = pages.new()
    sign_in(page)
    open_editor(page, image)
    expect(page.locator("#text-flag")).to_contain_text("1 text box was found burned into")
    expect(page.locator("#editor-status")).to_have_text(
        "A mask was placed over possible patient text: check it, then save."
    )
    assert preview_pixel(page, 320, 220) == [0, 0, 0]
    screenshot(page, "editor-text-masks")
    page.get_by_role("button", name="Undo").click()
    assert preview_pixel(page, 320, 220) != [0, 0, 0]
    page.get_by_role("button", name="Redo").click()
    assert preview_pixel(page, 320, 220) == [0, 0, 0]

    page.get_by_role("button", name="Save edited image").click()
    saved(page)
    image.refresh_from_db()
    with blobs.open_blob(image.edited_key) as f:
        variant = PILImage.open(io.BytesIO(f.read())).convert("RGB")
    assert variant.getpixel((320, 220)) == (0, 0, 0)
    assert variant.getpixel((221, 201)) == (0, 0, 0)  # the box's corner too
    assert variant.getpixel((320, 300)) != (0, 0, 0)  # and no more than a little around it
    check.refresh_from_db()
    assert check.reviewed_by == world.alice


def test_not_patient_data_answers_the_flag_from_the_keyboard(pages, world):
    image = store_image(world, data=fundus_jpeg(10))
    check = ImageCheck.objects.create(
        image=image,
        name="burned_text",
        version=1,
        verdict="flag",
        flagged=True,
        values={"boxes": [BOX], "count": 1},
    )
    page = pages.new()
    sign_in(page)
    open_editor(page, image)
    button = page.get_by_role("button", name="Not patient data")
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/editor" not in url)
    check.refresh_from_db()
    assert check.reviewed_by == world.alice
    image.refresh_from_db()
    assert not image.has_edit
