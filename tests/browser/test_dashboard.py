"""The dashboard in a real browser: filter, read the KPIs and cards, select, screenshots."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in
from tests.conftest import store_image

pytestmark = pytest.mark.browser


def stored(world):
    images = []
    for seed in range(6):
        images.append(
            store_image(
                world,
                seed,
                disease=world.glaucoma if seed < 2 else world.dr,
                area=world.right if seed % 2 else world.left,
                camera=world.canon if seed == 5 else world.topcon,
                mydriatic=seed == 3,
            )
        )
    return images


def test_filtering_by_disease_updates_the_grid_and_the_kpis_and_select_all_counts(pages, world):
    images = stored(world)
    page = pages.new()
    sign_in(page)
    page.goto("/direct/dashboard")
    expect(page.locator("#kpi-total")).to_have_text("6")
    expect(page.locator(".thumb-card")).to_have_count(6)
    # Thumbnails really load (the media view answers, the lazy images decode).
    page.locator(".thumb-card img").first.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.thumb-card img')].slice(0, 4).every(i => i.complete && i.naturalWidth > 0)"
    )
    expect(page.locator('[data-kpi="diseases"] .kpi-top li').first).to_contain_text("DR")
    edit_buttons = page.get_by_role("button", name="Edit Selected")
    expect(edit_buttons).to_be_disabled()
    expect(page.get_by_role("button", name="Delete Selected")).to_be_disabled()
    screenshot(page, "dashboard")

    page.get_by_label("Disease").select_option(label="Glaucoma")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(f"**/direct/dashboard?*disease={world.glaucoma.pk}*")
    # Only the fields that narrow the images are in the address (none of "date_from=&hospital=&").
    assert "=&" not in page.url and not page.url.endswith("=") and "date_from" not in page.url
    expect(page.locator("#kpi-total")).to_have_text("2")
    expect(page.locator(".thumb-card")).to_have_count(2)
    expect(page.locator('[data-kpi="diseases"] .kpi-top li')).to_have_count(1)
    expect(page.locator('[data-kpi="diseases"] .kpi-top li')).to_contain_text("Glaucoma 2")
    expect(page.get_by_label("Disease")).to_have_value(str(world.glaucoma.pk))
    ids = {page.locator(".thumb-card").nth(i).get_attribute("data-id") for i in range(2)}
    assert ids == {str(images[0].pk), str(images[1].pk)}

    page.get_by_label("Select all visible").check()
    expect(page.locator("#selected-count")).to_have_text("2 selected")
    expect(edit_buttons).to_be_enabled()
    page.get_by_label("Select fundus-0.jpg").uncheck()
    expect(page.locator("#selected-count")).to_have_text("1 selected")
    expect(page.get_by_label("Select all visible")).not_to_be_checked()
    page.get_by_label("Select all visible").check()
    expect(page.locator("#selected-count")).to_have_text("2 selected")
    page.get_by_label("Select all visible").uncheck()
    expect(page.locator("#selected-count")).to_have_text("0 selected")
    expect(edit_buttons).to_be_disabled()

    page.get_by_role("link", name="Clear filters").click()
    page.wait_for_url("**/direct/dashboard")
    expect(page.locator("#kpi-total")).to_have_text("6")


def test_select_all_stops_at_fifty_and_says_so(pages, world):
    from tests.library.test_dashboard_page import rows

    rows(world, 60)
    page = pages.new()
    sign_in(page)
    page.goto("/direct/dashboard?per_page=96")
    expect(page.locator(".thumb-card")).to_have_count(60)
    page.get_by_label("Select all visible").check()
    expect(page.locator("#selected-count")).to_have_text("50 selected")
    expect(page.locator("#select-limit")).to_contain_text("Select at most 50 images at a time")
    page.locator('.thumb-card input[name="images"]').nth(55).click()
    expect(page.locator("#selected-count")).to_have_text("50 selected")
    expect(page.locator('.thumb-card input[name="images"]').nth(55)).not_to_be_checked()


def test_the_edited_switch_works_per_card_and_for_the_page_without_javascript(pages, world):
    from fundushub.store import blobs
    from fundushub.store.models import Image

    image = store_image(world, 1)
    plain = store_image(world, 2)
    # An edited variant: reuse another picture's thumbnail bytes under the edited key.
    other = store_image(world, 9, lab_unit=world.outpatients, user=world.bob)
    blobs.write_bytes(
        blobs.thumbnail_key(other.sha256 + ""), blobs.open_blob(other.thumbnail_key).read()
    )
    Image.objects.filter(pk=image.pk).update(edited_sha256=other.sha256)
    page = pages.new()
    sign_in(page)
    page.goto("/direct/dashboard")
    card = page.locator(f'.thumb-card[data-id="{image.pk}"]')
    img = card.locator("img")
    expect(img).to_have_attribute("src", f"/images/{image.pk}/thumbnail")
    card.get_by_role("button", name="Edited").click()
    expect(img).to_have_attribute("src", f"/images/{image.pk}/thumbnail?variant=edited")
    expect(card.get_by_role("button", name="Edited")).to_have_attribute("aria-pressed", "true")
    page.wait_for_function(
        f"() => document.querySelector('[data-id=\"{image.pk}\"] img').naturalWidth > 0"
    )

    nojs = pages.new(javascript=False)
    sign_in(nojs)
    nojs.goto("/direct/dashboard")
    expect(nojs.locator(".card-toggle")).to_be_hidden()
    nojs.get_by_role("link", name="Edited", exact=True).click()
    nojs.wait_for_url("**/direct/dashboard?show=edited")
    expect(nojs.locator(f'.thumb-card[data-id="{image.pk}"] img')).to_have_attribute(
        "src", f"/images/{image.pk}/thumbnail?variant=edited"
    )
    expect(nojs.locator(f'.thumb-card[data-id="{plain.pk}"] img')).to_have_attribute(
        "src", f"/images/{plain.pk}/thumbnail"
    )


def test_the_dashboard_reads_well_on_a_tablet(pages, world):
    stored(world)
    page = pages.new(viewport={"width": 820, "height": 1180})
    sign_in(page, username="mary")
    page.goto("/direct/dashboard")
    expect(page.locator(".thumb-card")).to_have_count(6)
    expect(page.get_by_label("Uploader")).to_be_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.thumb-card img')].slice(0, 2).every(i => i.complete && i.naturalWidth > 0)"
    )
    # Nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 820
    screenshot(page, "dashboard-tablet")


@pytest.mark.parametrize("width", [1366, 390])
def test_a_grader_sees_no_bulk_controls_and_the_page_still_works(pages, world, width):
    images = stored(world)
    page = pages.new(viewport={"width": width, "height": 768 if width > 400 else 844})
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("gina")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/direct/dashboard")
    expect(page.locator(".thumb-card")).to_have_count(len(images))
    expect(page.get_by_role("button", name="Edit Selected")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete Selected")).to_have_count(0)
    expect(page.get_by_role("checkbox")).to_have_count(0)
    expect(page.get_by_text("Select all visible")).to_have_count(0)
    expect(page.get_by_role("link", name="Edited")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"dashboard-grader-{width}")


@pytest.mark.parametrize("width", [390, 768, 1366])
def test_every_filter_shows_its_longest_choice_in_full(pages, world, width):
    """Issue 11, C22: "AMD – Age-related macular degeneration" was cut to "AMD – Age-relate"."""
    stored(world)
    page = pages.new(viewport={"width": width, "height": 800})
    sign_in(page, "mary")  # a data manager also has the uploader filter
    page.goto("/direct/dashboard")
    if width < 560:  # on a phone the filters start folded, unless some apply
        expect(page.get_by_label("Disease")).to_be_hidden()
        page.goto(f"/direct/dashboard?disease={world.dr.pk}")
        expect(page.get_by_label("Disease")).to_be_visible()
        page.goto("/direct/dashboard")
        page.locator("#filters-details summary").click()
    expect(page.get_by_label("Disease")).to_be_visible()
    cut = page.evaluate(
        """() => {
          const ctx = document.createElement('canvas').getContext('2d');
          const cut = [];
          for (const select of document.querySelectorAll('#filter-form select')) {
            const style = getComputedStyle(select);
            ctx.font = style.font;
            // Room for text: the box less its padding and the arrow (about 24 px).
            const room = select.clientWidth - parseFloat(style.paddingLeft)
              - parseFloat(style.paddingRight) - 24;
            for (const option of select.options) {
              const text = option.textContent.trim();
              if (ctx.measureText(text).width > room) cut.push(select.name + ": " + text);
            }
          }
          return cut;
        }"""
    )
    assert cut == []
