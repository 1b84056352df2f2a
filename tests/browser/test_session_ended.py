"""A session that ended in another tab: the sign-in page says so, signing in returns to the page
(never a 405), and the grade and notes typed meanwhile are not lost."""

from playwright.sync_api import expect

from fundushub.accounts.views import SESSION_ENDED
from fundushub.grading.models import Grade
from tests.browser.conftest import screenshot
from tests.conftest import store_image

NOTES = "Cotton-wool spots temporal to the disc;\nre-check in 6 months."


def sign_in_at_login_page(page, username):
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Sign in").click()


def test_grade_notes_survive_a_session_that_ended_in_another_tab(pages, world):
    image = store_image(world)
    viewer = f"/direct/images/{image.id}"
    page = pages.new()
    page.goto("/accounts/login/")
    sign_in_at_login_page(page, "gina")
    page.wait_for_url("**/direct/dashboard")  # a grader lands where a grader may be

    page.goto(viewer)
    page.locator("#grade").select_option(index=2)
    chosen = page.locator("#grade").input_value()
    page.get_by_label("Notes").fill(NOTES)

    other_tab = pages.new(context=page.context)
    other_tab.goto("/direct/dashboard")
    other_tab.get_by_role("button", name="Sign out").click()
    other_tab.wait_for_url("**/accounts/login/")
    other_tab.close()

    page.get_by_role("button", name="Record grade").click()
    page.wait_for_url(lambda url: "/accounts/login/?next=" in url)
    expect(page.locator("#session-ended")).to_have_text(SESSION_ENDED)
    screenshot(page, "session-ended-1366")
    sign_in_at_login_page(page, "gina")

    page.wait_for_url(f"**{viewer}")  # the viewer, not the grade form's POST-only address
    expect(page.locator("#draft-restored")).to_be_visible()
    expect(page.locator("#grade")).to_have_value(chosen)
    expect(page.get_by_label("Notes")).to_have_value(NOTES)
    page.locator("#grading").scroll_into_view_if_needed()
    page.locator("#grading").screenshot(path=str(screenshot(page, "grade-draft-restored-1366")))
    assert not Grade.objects.filter(image=image).exists()

    page.get_by_role("button", name="Record grade").click()
    expect(page.get_by_text("Grade recorded:")).to_be_visible()
    grade = Grade.objects.get(image=image)
    assert (grade.grade, grade.notes.replace("\r\n", "\n")) == (chosen, NOTES)
    # Recorded: the draft is gone, and a reload shows an empty form.
    page.reload()
    expect(page.get_by_label("Notes")).to_have_value("")
    expect(page.locator("#draft-restored")).to_have_count(0)


def test_a_restored_draft_can_be_discarded(pages, world):
    image = store_image(world)
    page = pages.new()
    page.goto("/accounts/login/")
    sign_in_at_login_page(page, "gina")
    page.wait_for_url("**/direct/dashboard")
    page.goto(f"/direct/images/{image.id}")
    page.get_by_label("Notes").fill("half a thought")
    page.goto("/direct/dashboard")
    page.go_back()
    page.reload()  # a fresh page, not one the browser kept with its fields
    expect(page.get_by_label("Notes")).to_have_value("half a thought")
    page.get_by_role("button", name="Discard them").click()
    expect(page.get_by_label("Notes")).to_have_value("")
    page.reload()
    expect(page.get_by_label("Notes")).to_have_value("")


def test_the_session_ended_message_fits_a_phone(pages, world):
    page = pages.new(viewport={"width": 390, "height": 844})
    page.goto("/accounts/login/")
    sign_in_at_login_page(page, "alice")
    page.wait_for_url("**/direct/upload")
    page.context.clear_cookies(name="sessionid")  # the session expired
    page.goto("/direct/upload/jobs")
    expect(page.locator("#session-ended")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "session-ended-390")
    sign_in_at_login_page(page, "alice")
    page.wait_for_url("**/direct/upload/jobs")
