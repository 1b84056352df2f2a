"""The image editor in a real browser: rotate, mask with the brush, undo/redo, save; the server's
variant is what the preview showed, and the original is untouched."""

import hashlib
import io

import pytest
from PIL import Image as PILImage
from playwright.sync_api import expect

from fundushub.audit.models import AuditEvent
from fundushub.store import blobs
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import fundus_jpeg, store_image

pytestmark = pytest.mark.browser

NEXT = "/direct/upload/jobs"
# A stroke along the original's row y=100 from x=100 to x=300, 40 px wide.
STROKE_FROM, STROKE_TO, Y, SIZE = 100, 300, 100, 40


def serve_original_if_display_is_missing(page, data: bytes):
    """Until the viewer's image-display view exists, answer it with the original's bytes."""

    def handle(route):
        response = route.fetch()
        if response.status == 200:
            route.fulfill(response=response)
        else:
            route.fulfill(status=200, content_type="image/jpeg", body=data)

    page.route("**/images/*/view?variant=original", handle)


def open_editor(page, image):
    page.goto(f"/direct/images/{image.id}/editor?next={NEXT}")
    expect(page.locator("#editor")).to_have_attribute("data-ready", "true")


def saved(page):
    """Wait until the editor has gone on to NEXT; show the editor's error when it did not."""
    try:
        page.wait_for_url(lambda url: "/editor" not in url and url.endswith(NEXT), timeout=10_000)
    except Exception:
        raise AssertionError(page.locator("#editor-error").text_content()) from None


def frame_to_page(page, x, y):
    """Page coordinates of a point of the preview frame (canvas pixels)."""
    box = page.locator("#editor-canvas").bounding_box()
    size = page.evaluate(
        "() => { const c = document.getElementById('editor-canvas'); return [c.width, c.height]; }"
    )
    return box["x"] + x * box["width"] / size[0], box["y"] + y * box["height"] / size[1]


def preview_pixel(page, x, y):
    """The preview's colour at a frame pixel, once the editor has drawn its next frame."""
    return page.evaluate(
        """([x, y]) => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() =>
            done(Array.from(document.getElementById('editor-canvas')
                .getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3))))))""",
        [x, y],
    )


def test_an_image_is_rotated_masked_and_saved_as_a_variant(pages, world):
    data = fundus_jpeg(7)
    image = store_image(world, data=data)
    page = pages.new()
    serve_original_if_display_is_missing(page, data)
    sign_in(page)
    open_editor(page, image)
    expect(page.locator("#editor-needs-js")).to_be_hidden()

    page.get_by_role("button", name="Rotate right").click()
    expect(page.locator("#editor-canvas")).to_have_attribute("width", "480")
    page.get_by_label("Brightness value").fill("1.3")
    page.get_by_label("Brightness value").press("Tab")
    expect(page.get_by_label("Brightness", exact=True)).to_have_value("1.3")
    page.get_by_role("button", name="Brush").click()
    expect(page.get_by_role("button", name="Brush")).to_have_attribute("aria-pressed", "true")
    page.get_by_label("Brush size in image pixels").fill(str(SIZE))

    # Rotated clockwise, the original's (x, y) is shown at (480 − y, x): the stroke runs downwards.
    page.mouse.move(*frame_to_page(page, 480 - Y, STROKE_FROM))
    page.mouse.down()
    page.mouse.move(*frame_to_page(page, 480 - Y, STROKE_TO), steps=12)
    screenshot(page, "editor")
    page.mouse.up()
    masked, clear = (480 - Y, 200), (240, 320)
    assert preview_pixel(page, *masked) == [0, 0, 0]
    assert preview_pixel(page, *clear) != [0, 0, 0]

    page.get_by_role("button", name="Undo").click()
    assert preview_pixel(page, *masked) != [0, 0, 0]
    page.get_by_role("button", name="Redo").click()
    assert preview_pixel(page, *masked) == [0, 0, 0]
    page.keyboard.press("Control+Z")
    assert preview_pixel(page, *masked) != [0, 0, 0]
    page.keyboard.press("Control+Shift+Z")
    assert preview_pixel(page, *masked) == [0, 0, 0]
    preview_clear = preview_pixel(page, *clear)
    show_original = page.get_by_role("button", name="Show original")
    show_original.click()
    expect(show_original).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#editor-canvas")).to_have_attribute("width", "640")  # as uploaded
    show_original.click()
    expect(page.locator("#editor-canvas")).to_have_attribute("width", "480")

    page.get_by_role("button", name="Save edited image").click()
    saved(page)
    expect(page.locator(".alert-success")).to_contain_text("Edited image saved")

    image.refresh_from_db()
    assert image.has_edit
    assert image.edit_operations["rotate"] == 90 and image.edit_operations["brightness"] == 1.3
    (stroke,) = image.edit_operations["strokes"]
    assert stroke["tool"] == "brush" and stroke["size"] == SIZE
    assert all(abs(y - Y) <= 1 for _, y in stroke["points"])
    with blobs.open_blob(image.edited_key) as f:
        variant = PILImage.open(io.BytesIO(f.read())).convert("RGB")
    assert variant.size == (480, 640)  # width and height swapped
    assert variant.getpixel(masked) == (0, 0, 0)
    for x, y in [(480 - Y, STROKE_FROM + 10), (480 - Y - 15, 250), (480 - Y + 15, 150)]:
        assert variant.getpixel((x, y)) == (0, 0, 0), (x, y)
    assert variant.getpixel((480 - Y - 30, 200)) != (0, 0, 0)  # beyond the brush's reach
    # The preview ran the server's pipeline: the same colour, but for JPEG decoder rounding.
    assert all(abs(a - b) <= 3 for a, b in zip(variant.getpixel(clear), preview_clear, strict=True))
    with blobs.open_blob(image.original_key) as f:
        assert hashlib.sha256(f.read()).hexdigest() == image.sha256
    assert AuditEvent.objects.filter(action="image.edited", object_id=str(image.id)).count() == 1


def test_a_server_refusal_is_shown_as_an_error_not_as_saved(pages, world):
    data = fundus_jpeg(8)
    image = store_image(world, data=data)
    page = pages.new()
    serve_original_if_display_is_missing(page, data)
    sign_in(page)
    open_editor(page, image)
    page.get_by_role("button", name="Flip horizontal").click()
    image.grading_status = "graded"  # a grader got there first
    image.save(update_fields=["grading_status"])
    page.get_by_role("button", name="Save edited image").click()
    expect(page.locator("#editor-error")).to_have_text(
        "Editing is not allowed for pre-graded or graded images"
    )
    expect(page.locator("#editor-status")).not_to_have_text("Saved.")
    assert "/editor" in page.url
    image.refresh_from_db()
    assert not image.has_edit


def test_the_editor_works_with_touch_on_a_tablet(pages, world):
    data = fundus_jpeg(9)
    image = store_image(world, data=data)
    context = pages.browser.new_context(
        base_url=pages.base_url, viewport={"width": 820, "height": 1180}, has_touch=True
    )
    pages.contexts.append(context)
    page = pages.new(context=context)
    serve_original_if_display_is_missing(page, data)
    sign_in(page)
    open_editor(page, image)
    page.get_by_role("button", name="Eraser").click()
    page.get_by_role("button", name="Brush").click()
    x0, y0 = frame_to_page(page, 100, 200)
    x1, y1 = frame_to_page(page, 300, 200)
    page.evaluate(
        """([x0, y0, x1, y1]) => {
            const c = document.getElementById('editor-canvas');
            const at = (type, x, y) => c.dispatchEvent(new PointerEvent(type, {pointerId: 7,
                pointerType: 'touch', isPrimary: true, clientX: x, clientY: y, bubbles: true}));
            at('pointerdown', x0, y0);
            for (let i = 1; i <= 10; i++) at('pointermove', x0 + (x1 - x0) * i / 10, y0);
            at('pointerup', x1, y1);
        }""",
        [x0, y0, x1, y1],
    )
    assert preview_pixel(page, 200, 200) == [0, 0, 0]
    screenshot(page, "editor-tablet")


def test_without_javascript_the_page_says_the_editor_needs_it(pages, world):
    image = store_image(world, data=fundus_jpeg(10))
    page = pages.new(javascript=False)
    sign_in(page)
    page.goto(f"/direct/images/{image.id}/editor")
    expect(page.get_by_text("The image editor needs JavaScript")).to_be_visible()
    expect(page.locator("#editor")).to_be_hidden()


def quadrants_png(size=(320, 200)) -> bytes:
    """Four colours, one per quadrant, and a marker near the top-left: every turn shows."""
    w, h = size
    im = PILImage.new("RGB", size)
    for (x, y), colour in {
        (0, 0): (200, 40, 40),
        (1, 0): (40, 160, 40),
        (0, 1): (40, 40, 200),
        (1, 1): (220, 200, 60),
    }.items():
        im.paste(colour, (x * w // 2, y * h // 2, (x + 1) * w // 2, (y + 1) * h // 2))
    im.paste((255, 255, 255), (10, 10, 40, 30))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def test_the_preview_matches_the_server_for_turns_flips_a_crop_and_contrast(pages, world):
    data = quadrants_png()
    image = store_image(world, data=data)
    page = pages.new()
    serve_original_if_display_is_missing(page, data)
    sign_in(page)
    open_editor(page, image)
    page.get_by_role("button", name="Rotate right").click()
    page.get_by_role("button", name="Flip horizontal").click()
    page.get_by_role("button", name="Rotate right").click()
    page.get_by_label("Contrast value").fill("1.5")
    page.get_by_label("Contrast value").press("Tab")
    page.get_by_role("button", name="Crop", exact=True).click()
    page.mouse.move(*frame_to_page(page, 20, 30))
    page.mouse.down()
    page.mouse.move(*frame_to_page(page, 260, 170), steps=5)
    page.mouse.up()
    page.get_by_role("button", name="Apply crop").click()
    expect(page.locator("#editor-canvas")).to_have_attribute("width", "240")
    expect(page.locator("#editor-canvas")).to_have_attribute("height", "140")
    samples = [(x, y) for x in range(5, 240, 23) for y in range(5, 140, 19)]
    preview = page.evaluate(
        """points => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => {
            const ctx = document.getElementById('editor-canvas').getContext('2d');
            done(points.map(([x, y]) => Array.from(ctx.getImageData(x, y, 1, 1).data.slice(0, 3))));
        })))""",
        samples,
    )
    page.get_by_role("button", name="Save edited image").click()
    saved(page)
    image.refresh_from_db()
    ops = image.edit_operations
    # Turn right, mirror, turn right again = mirrored, not turned (a turn mirrored turns back).
    assert (ops["rotate"], ops["flip_h"], ops["flip_v"]) == (0, True, False)
    assert ops["crop"] == {"x": 20, "y": 30, "w": 240, "h": 140}
    with blobs.open_blob(image.edited_key) as f:
        variant = PILImage.open(io.BytesIO(f.read())).convert("RGB")
    assert variant.size == (240, 140)
    assert [list(variant.getpixel(p)) for p in samples] == preview


def test_a_crop_can_be_typed_and_applied_from_the_keyboard(pages, world):
    data = quadrants_png()
    image = store_image(world, data=data)
    page = pages.new()
    serve_original_if_display_is_missing(page, data)
    sign_in(page)
    open_editor(page, image)
    page.get_by_role("button", name="Crop", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Width")).to_have_value("320")  # starts as the whole image
    page.get_by_label("X", exact=True).fill("30")
    page.get_by_label("Width").fill("400")  # more than is left: kept inside the image
    page.get_by_label("Height").fill("50")
    page.get_by_label("Height").press("Tab")
    expect(page.get_by_label("Width")).to_have_value("290")
    screenshot(page, "editor-crop")
    page.get_by_role("button", name="Apply crop").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#editor-canvas")).to_have_attribute("width", "290")
    expect(page.locator("#editor-canvas")).to_have_attribute("height", "50")
    page.get_by_role("button", name="Save edited image").click()
    saved(page)
    image.refresh_from_db()
    assert image.edit_operations["crop"] == {"x": 30, "y": 0, "w": 290, "h": 50}


def test_a_large_image_is_previewed_at_screen_size_and_strokes_land_in_original_pixels(
    pages, world
):
    data = fundus_jpeg(11, size=(2400, 1800))
    image = store_image(world, data=data)
    page = pages.new()
    serve_original_if_display_is_missing(page, data)
    sign_in(page)
    open_editor(page, image)
    canvas = page.locator("#editor-canvas")
    expect(canvas).to_have_attribute("width", "1600")  # 2/3 of the original
    page.get_by_role("button", name="Brush").click()
    page.get_by_label("Brush size in image pixels").fill("60")
    page.mouse.move(*frame_to_page(page, 400, 600))
    page.mouse.down()
    page.mouse.move(*frame_to_page(page, 1200, 600), steps=8)
    page.mouse.up()
    page.get_by_role("button", name="Save edited image").click()
    saved(page)
    image.refresh_from_db()
    (stroke,) = image.edit_operations["strokes"]
    assert stroke["size"] == 60
    assert all(abs(y - 900) <= 2 for _, y in stroke["points"])
    with blobs.open_blob(image.edited_key) as f:
        variant = PILImage.open(io.BytesIO(f.read())).convert("RGB")
    assert variant.size == (2400, 1800)
    for x in (700, 1200, 1700):
        assert variant.getpixel((x, 900)) == (0, 0, 0)
        assert variant.getpixel((x, 1000)) != (0, 0, 0)
