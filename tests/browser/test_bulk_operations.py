"""Metadata edit, bulk edit and bulk delete in a real browser, from the dashboard."""

import pytest
from playwright.sync_api import expect

from fundushub.store.models import Image
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import store_image

pytestmark = pytest.mark.browser

DASHBOARD = "/direct/dashboard"


def pick(page, *images):
    for image in images:
        page.locator(f"#bulk-form input[name=images][value='{image.pk}']").check()


def finish_transitions(page):
    """Wait until the page's finite animations and transitions have ended (not a fixed time)."""
    page.evaluate(
        """() => Promise.all(document.getAnimations()
            .filter(a => a.effect.getComputedTiming().endTime !== Infinity)
            .map(a => a.finished))"""
    )


def card(page, image):
    return page.locator(f".thumb-card[data-id='{image.pk}']")


def test_editing_one_image_sets_mydriatic_back_to_false(pages, world):
    image = store_image(world, 0, mydriatic=True)
    page = pages.new()
    sign_in(page, "alice")
    page.goto(DASHBOARD)
    card(page, image).get_by_role("link", name="Edit", exact=True).click()
    expect(page.get_by_role("heading", name="Edit metadata")).to_be_visible()
    expect(page.get_by_role("switch")).to_be_checked()
    page.locator("label.switch").click()
    expect(page.get_by_role("switch")).not_to_be_checked()
    page.get_by_label("Area").select_option(label="Right eye")
    finish_transitions(page)  # the switch's slide, before the screenshot
    screenshot(page, "metadata-edit")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(f"**{DASHBOARD}")
    expect(page.locator(".alert-success")).to_have_text(
        "Saved fundus-0.jpg: changed area, mydriatic."
    )
    image = Image.objects.get(pk=image.pk)
    assert image.mydriatic is False and image.area == world.right


def test_bulk_edit_two_images_then_bulk_delete_two(pages, world, isolated_storage):
    images = [store_image(world, i) for i in range(4)]
    page = pages.new()
    sign_in(page, "alice")
    page.goto(DASHBOARD)

    pick(page, images[0], images[1])
    page.get_by_role("button", name="Edit Selected").click()
    expect(page.get_by_role("heading", name="Edit 2 images")).to_be_visible()
    expect(page.locator(".selected-images tbody tr")).to_have_count(2)
    page.locator(".pill", has_text="Mydriatic").filter(has_not_text="Non").click()
    page.get_by_label("Disease").select_option(label="Glaucoma")
    screenshot(page, "bulk-edit")
    page.get_by_role("button", name="Apply to 2 images").click()
    page.wait_for_url(f"**{DASHBOARD}")
    expect(page.locator(".alert-success")).to_have_text("Updated 2 images")
    changed = Image.objects.filter(mydriatic=True, disease=world.glaucoma)
    assert set(changed.values_list("pk", flat=True)) == {images[0].pk, images[1].pk}

    pick(page, images[2], images[3])
    page.get_by_role("button", name="Delete Selected").click()
    expect(page.get_by_role("heading", name="Confirm deletion")).to_be_visible()
    expect(page.get_by_text("Delete 2 images? Deleted images cannot be recovered.")).to_be_visible()
    expect(page.locator(".selected-images img").first).to_have_js_property("complete", True)
    screenshot(page, "bulk-delete")
    assert Image.objects.count() == 4  # the confirmation page deletes nothing
    page.get_by_role("button", name="Delete 2 images").click()
    page.wait_for_url(f"**{DASHBOARD}")
    expect(page.locator(".alert-success")).to_have_text("Deleted 2 images")
    expect(card(page, images[2])).to_have_count(0)
    assert set(Image.objects.values_list("pk", flat=True)) == {images[0].pk, images[1].pk}
    for image in images[2:]:
        assert not (isolated_storage / image.original_key).exists()
        assert not (isolated_storage / image.thumbnail_key).exists()
    assert (isolated_storage / images[0].original_key).exists()


def test_cancel_on_the_delete_page_goes_back_and_keeps_the_images(pages, world):
    images = [store_image(world, i) for i in range(2)]
    page = pages.new()
    sign_in(page, "alice")
    page.goto(DASHBOARD)
    pick(page, *images)
    page.get_by_role("button", name="Delete Selected").click()
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url(f"**{DASHBOARD}")
    assert Image.objects.count() == 2


def test_bulk_edit_is_usable_on_a_tablet(pages, world):
    images = [store_image(world, i) for i in range(2)]
    page = pages.new(viewport={"width": 768, "height": 1024})
    sign_in(page, "mary")
    page.goto(DASHBOARD)
    pick(page, *images)
    page.get_by_role("button", name="Edit Selected").click()
    # Choosing a hospital narrows the lab units to that hospital's.
    page.locator(".pill", has_text="St Lucia").click()
    expect(page.locator("optgroup[label='St Lucia']")).not_to_have_attribute("hidden", "")
    page.get_by_label("Lab Unit").select_option(label="Screening")
    screenshot(page, "bulk-edit-tablet")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 768, "the page scrolls sideways on a tablet"
    page.get_by_role("button", name="Apply to 2 images").click()
    page.wait_for_url(f"**{DASHBOARD}")
    assert {i.lab_unit_id for i in Image.objects.all()} == {world.screening.pk}


def test_a_selection_with_a_graded_image_cannot_be_deleted(pages, world):
    plain = store_image(world, 1)
    graded = store_image(world, 2, grading_status="graded")
    page = pages.new()
    sign_in(page, "mary")
    page.goto(DASHBOARD)
    pick(page, plain, graded)
    page.get_by_role("button", name="Delete Selected").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Graded images cannot be deleted: fundus-2.jpg. Deselect them and try again."
    )
    expect(page.get_by_role("button", name="Delete 2 images")).to_have_count(0)
    screenshot(page, "bulk-delete-refused")
    assert Image.objects.count() == 2
