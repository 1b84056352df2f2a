"""The image viewer in a real browser: zoom, pan, original/edited toggle, and recording a grade."""

import json
import re

import pytest
from playwright.sync_api import expect

from fundushub.grading.models import Grade
from fundushub.library import variants
from fundushub.store.models import GradingStatus, Image
from tests.browser.conftest import screenshot
from tests.conftest import fundus_jpeg, store_image

pytestmark = pytest.mark.browser

TRANSLATE = re.compile(r"translate\((-?[\d.]+)px, (-?[\d.]+)px\) scale\(([\d.]+)\)")


def open_viewer(page, image, username="gina"):
    page.goto(f"/direct/images/{image.id}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**/direct/images/{image.id}")
    page.wait_for_function("() => document.getElementById('viewer-image').naturalWidth > 0")


def view_state(page):
    """(x, y, scale) from the picture's CSS transform."""
    match = TRANSLATE.search(page.locator("#viewer-image").get_attribute("style") or "")
    assert match, "the viewer has not placed the picture"
    return tuple(float(v) for v in match.groups())


def edited_image(world):
    image = store_image(world, 1, data=fundus_jpeg(1, size=(1600, 1200)))
    variants.save_edit(image, json.dumps({"rotate": 90}).encode(), world.alice)
    return Image.objects.get(pk=image.pk)


def test_a_grader_zooms_pans_toggles_the_edit_and_records_a_grade(pages, world):
    image = edited_image(world)
    page = pages.new()
    open_viewer(page, image)
    frame = page.locator("#viewer-frame")

    x, y, fitted = view_state(page)
    assert fitted < 1  # a 1600 px picture is fitted into the frame
    expect(page.locator("#zoom-level")).to_have_text(f"{round(fitted * 100)}%")

    page.get_by_role("button", name="Zoom in").click()
    assert view_state(page)[2] == pytest.approx(fitted * 1.25, rel=1e-3)

    box = frame.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 3, box["y"] + box["height"] / 3)
    page.mouse.wheel(0, -300)
    expect(page.locator("#zoom-level")).not_to_have_text(f"{round(fitted * 125)}%")
    wheeled = view_state(page)
    assert wheeled[2] > fitted * 1.25

    # Pan by dragging: the picture follows the pointer.
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 3 + 80, box["y"] + box["height"] / 3 + 40, steps=5)
    page.mouse.up()
    dragged = view_state(page)
    assert dragged[0] == pytest.approx(wheeled[0] + 80, abs=1)
    assert dragged[1] == pytest.approx(wheeled[1] + 40, abs=1)
    assert dragged[2] == wheeled[2]

    # Keyboard: arrows pan inside the frame, 0 fits, + zooms, 1 is actual pixels.
    frame.focus()
    page.keyboard.press("ArrowRight")
    assert view_state(page)[0] == pytest.approx(dragged[0] - 60, abs=1)
    page.keyboard.press("0")
    assert view_state(page)[2] == pytest.approx(fitted, rel=1e-3)
    page.keyboard.press("+")
    assert view_state(page)[2] == pytest.approx(fitted * 1.25, rel=1e-3)
    page.keyboard.press("-")
    page.keyboard.press("1")
    assert view_state(page)[2] == 1
    expect(page.locator("#zoom-level")).to_have_text("100%")
    page.get_by_role("button", name="Fit").click()

    # Original / Edited: the rotated variant swaps in place, without metadata, and back.
    page.get_by_role("link", name="Edited", exact=True).click()
    page.wait_for_function(
        "() => { const i = document.getElementById('viewer-image');"
        " return i.src.endsWith('variant=edited') && i.complete && i.naturalWidth === 1200; }"
    )
    assert page.url.endswith("?variant=edited")
    expect(page.locator("#download-link")).to_have_attribute(
        "href", f"/images/{image.id}/download?variant=edited"
    )
    assert page.evaluate("document.getElementById('viewer-image').naturalHeight") == 1600
    page.get_by_role("link", name="Original", exact=True).click()
    page.wait_for_function(
        "() => { const i = document.getElementById('viewer-image');"
        " return !i.src.includes('variant') && i.complete && i.naturalWidth === 1600; }"
    )

    # Record a grade, then revise it: both revisions are listed.
    page.get_by_label(re.compile("^Grade")).select_option("R2")
    page.get_by_label(re.compile("^Notes")).fill("Dot haemorrhages, temporal arcade")
    page.get_by_role("button", name="Record grade").click()
    expect(page.locator(".alert-success")).to_contain_text(
        "Grade recorded: R2 – Moderate non-proliferative (revision 1)."
    )
    page.get_by_label(re.compile("^Grade")).select_option("R3")
    page.get_by_role("button", name="Record a revised grade").click()
    expect(page.locator("table.grades tbody tr")).to_have_count(2)
    expect(page.locator(".viewer-head .badge-graded")).to_have_text("Graded")
    expect(page.locator("table.history")).to_contain_text(
        "R3 (Severe non-proliferative), revision 2; was R2"
    )
    assert list(Grade.objects.filter(image=image).values_list("grade", flat=True)) == ["R3", "R2"]
    assert Image.objects.get(pk=image.pk).grading_status == GradingStatus.GRADED

    page.get_by_role("button", name="Zoom in").click()
    screenshot(page, "viewer")


def test_an_uploader_sees_edit_image_locked_with_the_reason_on_a_tablet(pages, world):
    image = store_image(world, 2, grading_status=GradingStatus.PRE_GRADED)
    page = pages.new(viewport={"width": 820, "height": 1180})
    open_viewer(page, image, username="alice")
    expect(page.get_by_role("button", name="Edit Image")).to_be_disabled()
    expect(page.locator("#edit-locked")).to_have_text(
        "Editing is not allowed for pre-graded or graded images."
    )
    expect(page.get_by_role("link", name="Download original")).to_have_count(0)
    assert view_state(page)[2] <= 1
    screenshot(page, "viewer-tablet")


def test_without_javascript_the_toggle_is_a_pair_of_links(pages, world):
    image = edited_image(world)
    page = pages.new(javascript=False)
    page.goto(f"/direct/images/{image.id}")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Edited", exact=True).click()
    page.wait_for_url("**?variant=edited")
    assert page.locator("#viewer-image").get_attribute("src").endswith("?variant=edited")


def test_from_a_filtered_dashboard_the_keys_step_through_the_set_and_back_returns_there(
    pages, world
):
    """Issue 11, C18: [ and ] move through the filtered set; Back keeps the filters; after
    saving an edit the viewer shows the edited version."""
    from tests.browser.conftest import sign_in

    older = store_image(world, 31, disease=world.glaucoma)
    store_image(world, 32)  # DR: outside the set
    newer = store_image(world, 33, disease=world.glaucoma)
    page = pages.new()
    sign_in(page)
    page.goto(f"/direct/dashboard?disease={world.glaucoma.pk}&per_page=24")
    page.locator(f'.thumb-card[data-id="{newer.id}"] .thumb-link').click()
    page.wait_for_url(f"**/direct/images/{newer.id}?disease={world.glaucoma.pk}&per_page=24")
    expect(page.locator("#previous-image")).to_have_count(0)

    page.keyboard.press("]")
    page.wait_for_url(f"**/direct/images/{older.id}?disease={world.glaucoma.pk}&per_page=24")
    expect(page.locator("#next-image")).to_have_count(0)  # the DR image is not in the set
    page.keyboard.press("[")
    page.wait_for_url(f"**/direct/images/{newer.id}?*")
    page.get_by_role("link", name="Next ›").click()
    page.wait_for_url(f"**/direct/images/{older.id}?*")

    # Edit it: the viewer comes back showing the version just saved.
    page.get_by_role("link", name="Edit Image").click()
    expect(page.locator("#editor")).to_have_attribute("data-ready", "true")
    page.get_by_role("button", name="Rotate right").click()
    page.get_by_role("button", name="Save edited image").click()
    page.wait_for_url(f"**/direct/images/{older.id}?*variant=edited")
    page.wait_for_function(
        "() => { const i = document.getElementById('viewer-image');"
        " return i.src.endsWith('variant=edited') && i.complete && i.naturalWidth === 480; }"
    )
    expect(page.locator(".version-toggle [aria-current=true]")).to_have_text("Edited")

    page.get_by_role("link", name="Back to Images").click()
    page.wait_for_url(f"**/direct/dashboard?disease={world.glaucoma.pk}&per_page=24")
    expect(page.locator(".thumb-card")).to_have_count(2)
