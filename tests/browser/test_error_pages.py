"""Error pages in the browser: the site's layout, and "Go back" returns to the page before."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in
from tests.conftest import store_image


@pytest.fixture(autouse=True)
def production(settings):
    settings.DEBUG = False


@pytest.mark.parametrize("width", [1366, 390])
def test_a_405_page_leads_back_to_the_page_before(pages, world, width):
    image = store_image(world)
    page = pages.new(viewport={"width": width, "height": 768 if width > 400 else 844})
    sign_in(page, "alice")
    page.goto(f"/direct/images/{image.id}")
    page.goto(f"/direct/images/{image.id}/grade")
    expect(
        page.get_by_role("heading", name="This address cannot be opened directly")
    ).to_be_visible()
    expect(page.get_by_role("link", name="Home")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"error-405-{width}")
    page.get_by_role("link", name="Go back").click()
    page.wait_for_url(f"**/direct/images/{image.id}")


def test_a_404_page_has_the_users_menu_and_a_way_home(page, world):
    sign_in(page, "alice")
    page.goto("/direct/images/00000000-0000-0000-0000-000000000000")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    screenshot(page, "error-404-1366")
    page.get_by_role("link", name="Home").click()
    page.wait_for_url("**/direct/upload")


def test_a_grader_sent_to_the_upload_page_gets_a_403_page_whose_home_link_works(pages, world):
    page = pages.new(viewport={"width": 390, "height": 844})
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("gina")
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/direct/dashboard")
    page.goto("/direct/upload")
    expect(page.get_by_role("heading", name="You may not open this page")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "error-403-390")
    page.get_by_role("link", name="Home").click()
    page.wait_for_url("**/direct/dashboard")
    page.get_by_role("link", name="Fundus Hub").click()  # the logo
    page.wait_for_url("**/direct/dashboard")
