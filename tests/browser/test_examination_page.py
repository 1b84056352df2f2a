"""The examination page and result letter in a real browser: both eyes zoom and pan together while
linked and apart when not, another image of an eye shown in its frame, the letter's Print button;
screenshots at 1366×768 (test-output/screenshots/examination.png, letter.png)."""

import io
import math
import random

import pytest
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFilter
from playwright.sync_api import expect

from fundushub.grading import workflow
from fundushub.grading.defaults import load_defaults
from fundushub.grading.examinations import file_image
from fundushub.grading.models import (
    Examination,
    OutcomeRule,
    Programme,
    Scheme,
    SchemeField,
    SchemeValue,
)
from tests.browser.conftest import SCREENSHOTS
from tests.conftest import examination_of, store_image

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def default_programmes(graders):
    """The default schemes and programmes (a migration adds them; a browser test's database is
    emptied between tests, so they are added again)."""
    load_defaults(Scheme, SchemeField, SchemeValue, Programme, OutcomeRule)


def retina(seed: int, size=(1600, 1200), disc_side=1) -> bytes:
    """A fundus-like photograph: orange-red field darker at the rim, optic disc, vessels."""
    rng = random.Random(seed)
    w, h = size
    r = min(w, h) * 0.48
    cx, cy = w / 2, h / 2
    field = PILImage.new("RGB", size, (190, 75, 30))
    shade = PILImage.radial_gradient("L").resize((int(2 * r), int(2 * r)))
    rim = PILImage.new("L", size, 255)
    rim.paste(shade, (int(cx - r), int(cy - r)))
    field = PILImage.composite(
        PILImage.new("RGB", size, (70, 18, 6)), field, rim.point(lambda v: v * 0.6)
    )
    d = ImageDraw.Draw(field)
    disc = (cx + disc_side * r * 0.42, cy)
    for _ in range(10):
        angle = rng.uniform(0, 2 * math.pi)
        x, y, width = disc[0], disc[1], max(3, int(r * 0.025))
        for _ in range(7):
            angle += rng.uniform(-0.45, 0.45)
            nx, ny = x + math.cos(angle) * r * 0.15, y + math.sin(angle) * r * 0.15
            d.line((x, y, nx, ny), fill=(125, 28, 20), width=width)
            x, y, width = nx, ny, max(1, width - 1)
    dr = r * 0.12
    d.ellipse((disc[0] - dr, disc[1] - dr, disc[0] + dr, disc[1] + dr), fill=(246, 208, 135))
    for _ in range(6):  # a few small haemorrhages
        x, y = cx + rng.uniform(-0.5, 0.2) * r, cy + rng.uniform(-0.4, 0.4) * r
        d.ellipse((x - 6, y - 6, x + 6, y + 6), fill=(110, 15, 10))
    circle = PILImage.new("L", size, 0)
    ImageDraw.Draw(circle).ellipse((cx - r, cy - r, cx + r, cy + r), fill=255)
    im = PILImage.composite(field, PILImage.new("RGB", size, (0, 0, 0)), circle)
    out = io.BytesIO()
    im.filter(ImageFilter.GaussianBlur(1.2)).save(out, "JPEG", quality=90)
    return out.getvalue()


def screening_examination(world):
    """A subject's visit: right and left eye photographs, and a third of unknown eye."""
    exam = None
    for n, (eye, side) in enumerate((("right", 1), ("left", -1), (None, 1))):
        image = store_image(
            world,
            n,
            data=retina(n, disc_side=side),
            subject_identifier="105-10-0989-3",
            area=getattr(world, eye) if eye else None,
            original_filename=f"105-10-0989-3_{eye or 'extra'}.jpg",
        )
        exam = file_image(image, brought_by_id=world.alice.pk)
    return exam


def sign_in_to(page, path, username):
    page.goto(path)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{path}")


def loaded(page):
    page.wait_for_function(
        "() => [...document.querySelectorAll('.pair-frame img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )


def state(page, eye) -> tuple[float, str]:
    frame = page.locator(f"#pair-frame-{eye}")
    return float(frame.get_attribute("data-zoom")), frame.get_attribute("data-centre")


def test_both_eyes_zoom_and_pan_together_while_linked_and_apart_when_not(pages, graders):
    exam = screening_examination(graders)
    page = pages.new()
    sign_in_to(page, f"/examinations/{exam.pk}", "gina")
    loaded(page)
    expect(page.locator("#pair-tools")).to_be_visible()
    assert state(page, "right") == state(page, "left") == (1.0, "0.5000,0.5000")

    page.get_by_role("button", name="Zoom in").click()
    page.keyboard.press("+")
    assert state(page, "right") == state(page, "left")
    assert state(page, "right")[0] == pytest.approx(1.5625)
    expect(page.locator("#pair-level")).to_have_text("×1.6")

    page.locator("#pair-frame-right").scroll_into_view_if_needed()
    box = page.locator("#pair-frame-right").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 - 80, box["y"] + box["height"] / 2 - 40, steps=4)
    page.mouse.up()
    right, left = state(page, "right"), state(page, "left")
    assert right == left and right[1] != "0.5000,0.5000"  # the left eye followed the drag

    page.locator("#pair-frame-left").focus()
    page.keyboard.press("ArrowLeft")
    assert state(page, "right") == state(page, "left")

    page.keyboard.press("l")  # unlink
    expect(page.locator("#pair-link")).not_to_be_checked()
    page.mouse.move(box["x"] + 40, box["y"] + 40)
    page.mouse.wheel(0, -400)
    assert state(page, "right")[0] > state(page, "left")[0]  # only the right eye zoomed

    page.get_by_label("Link zoom and pan across both eyes").check()
    assert state(page, "right") == state(page, "left")
    page.keyboard.press("0")
    assert state(page, "right") == state(page, "left") == (1.0, "0.5000,0.5000")


def test_a_decided_examination_and_its_letter_as_a_clinic_sees_them(pages, graders):
    exam = screening_examination(graders)
    exam.programme.qa_sample_percent = 0
    exam.programme.save()
    values = {
        "right": {"R": "R1", "M": "M0", "P": "P0"},
        "left": {"R": "R0", "M": "M0", "P": "P0"},
    }
    graders.gina.first_name, graders.gina.last_name = "Gina", "Grey"
    graders.gina.save()
    workflow.claim(graders.gina, exam)
    workflow.record_grading(graders.gina, exam, values, notes="Few dot haemorrhages, right eye")
    exam = Examination.objects.get(pk=exam.pk)

    page = pages.new()
    sign_in_to(page, f"/examinations/{exam.pk}", "mary")
    loaded(page)
    expect(page.locator(".badge-stage-done")).to_have_text("Outcome decided")
    expect(page.locator(".badge-eye-unknown")).to_have_text("Eye unknown")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "examination.png"))
    page.screenshot(path=str(SCREENSHOTS / "examination-full.png"), full_page=True)

    page.get_by_role("link", name="Result letter").click()
    page.wait_for_url(f"**/examinations/{exam.pk}/letter")
    expect(page.get_by_role("button", name="Print")).to_be_visible()
    expect(page.locator(".letter")).to_contain_text("We will invite you for screening again")
    page.screenshot(path=str(SCREENSHOTS / "letter.png"))
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    page.screenshot(path=str(SCREENSHOTS / "letter-print.png"), full_page=True)


def test_another_image_of_an_eye_is_shown_in_its_frame(pages, graders):
    exam = examination_of(graders, 5, eyes=("right", "left", "right"))
    page = pages.new()
    sign_in_to(page, f"/examinations/{exam.pk}", "gina")
    loaded(page)
    buttons = page.get_by_role("button", name="Show above")
    expect(buttons).to_have_count(2)  # the two right-eye images; the only left one has none
    first = page.locator("#pair-frame-right img").get_attribute("data-image")
    buttons.nth(1).click()
    shown = page.locator("#pair-frame-right img")
    assert shown.get_attribute("data-image") != first
    expect(buttons.nth(1)).to_have_attribute("aria-pressed", "true")
    expect(buttons.nth(0)).to_have_attribute("aria-pressed", "false")


def test_on_a_phone_nothing_scrolls_sideways(pages, graders):
    exam = screening_examination(graders)
    exam.programme.qa_sample_percent = 0
    exam.programme.save()
    values = {eye: {"R": "R2", "M": "M1", "P": "P0"} for eye in ("right", "left")}
    workflow.record_grading(graders.gina, exam, values, notes="IRMA")
    page = pages.new(viewport={"width": 390, "height": 800})
    sign_in_to(page, f"/examinations/{exam.pk}", "mary")
    loaded(page)
    for path in (f"/examinations/{exam.pk}", f"/examinations/{exam.pk}/letter"):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
