"""The worklist and the grading page in a real browser, by keyboard alone: a grader works ten
examinations from the worklist; Esc gives one back; a disagreement reaches a senior grader, whose
decision becomes the outcome."""

import re
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from fundushub.grading import workflow
from fundushub.grading.models import Examination, Stage
from tests.browser.conftest import SCREENSHOTS, screenshot
from tests.conftest import examination_of
from tests.grading.pages import dr, dr_programme, fresh, waited

pytestmark = pytest.mark.browser

GRADE_PAGE = re.compile(r"/grading/examinations/[0-9a-f-]{36}/grade")
# Per subject: the keys pressed (right R, M, P, then left R, M, P) and the outcome expected.
PLAN = {
    "S-01": ("000000", "recall_24"),
    "S-02": ("100000", "recall_12"),
    "S-03": ("200000", "refer_soon"),
    "S-04": ("300100", "refer_urgent"),
    "S-05": ("400001", "refer_routine"),
    "S-06": ("u00000", "reimage"),
    "S-07": ("010000", "refer_soon"),
    "S-08": ("100100", "recall_12"),
    "S-09": ("000100", "recall_12"),
    "S-10": ("001001", "recall_24"),
}


def sign_in_by_keyboard(page, username, path="/grading/"):
    page.goto(path)
    expect(page.locator("#id_username")).to_be_focused()
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type("pw")
    page.keyboard.press("Enter")
    on(page, path)


def window_shot(page, name: str):
    """What the grader sees in a 1366×768 window (the save bar stays at its bottom)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def on(page, path):
    """Wait for a page by its path (the sign-in page's ?next= also ends in it)."""
    page.wait_for_url(lambda url: urlparse(url).path == path)


def focused_name(page) -> str:
    return page.evaluate(
        'document.activeElement.id.startsWith("save") || document.activeElement.id === "reason" ? document.activeElement.id : document.activeElement.name'
    )


def test_a_grader_works_ten_examinations_from_the_worklist_by_keyboard_only(pages, graders):
    dr_programme(second_referable=False, qa=0)
    for n, subject in enumerate(PLAN):
        waited(examination_of(graders, n, subject=subject), 600 - n * 10)
    page = pages.new()
    sign_in_by_keyboard(page, "gina")
    expect(page.locator("#count-all")).to_have_text("10")
    screenshot(page, "grading-worklist")
    expect(page.locator("#start-grading")).to_be_focused()
    page.keyboard.press("Enter")

    graded = []
    for n in range(10):
        page.wait_for_url(GRADE_PAGE)
        subject = page.locator("h1").inner_text().split()[0]
        keys, _ = PLAN[subject]
        assert focused_name(page) == "right-R"
        for i, key in enumerate(keys):
            page.keyboard.press(key)
            if n == 0 and i == 2:
                # Backspace goes back a field; the key then picks the same value again.
                assert focused_name(page) == "left-R"
                page.keyboard.press("Backspace")
                assert focused_name(page) == "right-P"
                page.keyboard.press(key)
        assert focused_name(page) == "save-next"
        if n == 0:
            expect(page.locator("#outcome-preview")).to_have_text(
                "Outcome: Routine recall in 24 months — rule: R0 in both eyes → "
                "Routine recall in 24 months"
            )
            window_shot(page, "grading-page")
        graded.append(subject)
        with page.expect_navigation():
            page.keyboard.press("Enter")
    on(page, "/grading/")
    expect(page.locator(".messages")).to_contain_text("That was the last examination waiting")
    expect(page.locator("#empty-state")).to_contain_text("Nothing is waiting for you")

    assert graded == list(PLAN)  # oldest first
    decided = dict(Examination.objects.values_list("subject_identifier", "outcome"))
    assert decided == {subject: outcome for subject, (_, outcome) in PLAN.items()}
    assert set(Examination.objects.values_list("stage", flat=True)) == {Stage.DONE}
    assert not Examination.objects.filter(claimed_by__isnull=False).exists()


def test_esc_gives_the_examination_back(pages, graders):
    dr_programme()
    exam = examination_of(graders, 1, subject="S-01")
    page = pages.new()
    sign_in_by_keyboard(page, "gina")
    page.keyboard.press("Enter")
    page.wait_for_url(GRADE_PAGE)
    assert fresh(exam).claimed_by == graders.gina
    page.keyboard.press("1")
    with page.expect_navigation():
        page.keyboard.press("Escape")
    on(page, "/grading/")
    expect(page.locator(".messages")).to_contain_text("Released S-01")
    assert fresh(exam).claimed_by is None and not exam.gradings.exists()


def test_a_disagreement_reaches_the_arbiter_whose_decision_becomes_the_outcome(pages, graders):
    dr_programme(second_referable=True, qa=0)
    exam = examination_of(graders, 1, subject="S-01")
    workflow.record_grading(graders.gina, exam, dr("R2", "R0"), notes="blot haemorrhages")
    workflow.record_grading(graders.greg, fresh(exam), dr("R1", "R0"))
    assert fresh(exam).stage == Stage.ARBITRATION

    # Others wait at every stage beside it; one is already held for sophie.
    waited(examination_of(graders, 2, subject="S-02", eyes=("right", "right", "left")), 95)
    second = waited(examination_of(graders, 3, subject="S-03"), 400)
    workflow.record_grading(graders.gina, second, dr("R3a", "R0"))
    held = waited(examination_of(graders, 4, subject="S-04"), 30)
    workflow.claim(graders.sophie, held)

    page = pages.new()
    sign_in_by_keyboard(page, "sophie")
    expect(page.locator("#count-arbitration")).to_have_text("1")
    expect(page.locator("#count-all")).to_have_text("4")
    screenshot(page, "grading-worklist-senior")
    page.goto("/grading/?stage=arbitration")
    expect(page.locator("#start-grading")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(GRADE_PAGE)
    expect(page.locator("#compare-table td.differs")).to_have_count(4)  # R right, and outcome
    for key in "200000":
        page.keyboard.press(key)
    assert focused_name(page) == "reason"  # arbitration asks why before saving
    page.keyboard.type("IRMA in the right eye: R2")
    expect(page.locator("#outcome-preview")).to_contain_text("Refer to the eye clinic: soon")
    screenshot(page, "grading-arbitration-full")
    page.evaluate("window.scrollTo(0, 0)")
    window_shot(page, "grading-arbitration")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    on(page, "/grading/")  # nothing else waits at arbitration
    exam = fresh(exam)
    assert (exam.stage, exam.outcome, exam.decided_by) == (Stage.DONE, "refer_soon", graders.sophie)
    assert exam.decided_reason == "IRMA in the right eye: R2"

    # Decided: the outcome, the rule and who decided why; a senior grader may revise it.
    page.goto(f"/grading/examinations/{exam.pk}/grade")
    expect(page.locator("#outcome")).to_have_text("Refer to the eye clinic: soon")
    expect(page.locator("#grade-form")).to_contain_text("Revise the outcome")
    screenshot(page, "grading-decided")


@pytest.mark.parametrize("width", [390, 768])
def test_the_worklist_and_the_grading_page_fit_a_phone_and_a_tablet(pages, graders, width):
    dr_programme(second_referable=True, qa=0)
    exam = examination_of(graders, 1, subject="105-10-0989-3-LONG-SUBJECT-IDENTIFIER")
    workflow.record_grading(graders.gina, exam, dr("R2", "R0"))
    workflow.record_grading(graders.greg, fresh(exam), dr("R1", "R0"))
    examination_of(graders, 2, subject="S-02")
    page = pages.new(viewport={"width": width, "height": 800})
    sign_in_by_keyboard(page, "sophie")
    for path in ("/grading/", f"/grading/examinations/{exam.pk}/grade"):
        page.goto(path)
        overflow = page.evaluate("document.documentElement.scrollWidth")
        screenshot(page, f"widths/grading-{path.strip('/').split('/')[-1]}-{width}")
        assert overflow <= width, f"{path} scrolls sideways at {width} px ({overflow} px wide)"
