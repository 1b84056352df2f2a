"""The grading quality page in a browser, with a realistic quarter of screening: five graders of
different skill, two lab units, three cameras, second gradings and arbitrations. No script
error or CSP violation; the filters work by keyboard; the CSV downloads; the screenshot is kept
(test-output/screenshots/quality.png; the README shows the demo's own, docs/take_screenshots.py)."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from fundushub.accounts import roles
from fundushub.catalog.models import Camera
from fundushub.grading.examinations import file_image
from fundushub.grading.models import REFERABLE_OUTCOMES, Role
from tests.browser.conftest import screenshot, sign_in
from tests.conftest import make_user, store_image
from tests.grading.test_quality import add_grading, decide

pytestmark = pytest.mark.browser

# The final outcome's share in a screened population (roughly), and how a camera fares.
OUTCOMES = [
    ("recall_12", 50),
    ("recall_24", 22),
    ("refer_routine", 5),
    ("refer_soon", 9),
    ("refer_urgent", 3),
    ("reimage", 11),
]
SKILL = {"gina": 0.93, "greg": 0.78, "hannah": 0.88, "priya": 0.62, "tomasz": 0.97}


def a_quarter_of_screening(w, exams=70, seed=14):
    rng = random.Random(seed)
    optos = Camera.objects.create(name="Optos Daytona")
    cameras = [(w.topcon, 0.6), (w.canon, 0.25), (optos, 0.15)]
    graders = [w.gina, w.greg]
    for name in ("hannah", "priya", "tomasz"):
        graders.append(make_user(name, roles.GRADER, [w.retina, w.screening]))
    now = timezone.now()
    for n in range(exams):
        unit = w.retina if rng.random() < 0.65 else w.screening
        camera = rng.choices([c for c, _ in cameras], [p for _, p in cameras])[0]
        truth = rng.choices([o for o, _ in OUTCOMES], [p for _, p in OUTCOMES])[0]
        if camera == w.canon and truth != "reimage" and rng.random() < 0.12:
            truth = "reimage"  # the older camera: more re-imaging
        exam = None
        for k, eye in enumerate((w.right, w.left)):
            image = store_image(
                w, 1000 + n * 2 + k, lab_unit=unit, camera=camera, area=eye,
                subject_identifier=f"SCR-{4100 + n}", size=(160, 120),
            )  # fmt: skip
            exam = file_image(image)
        created = now - timedelta(days=rng.uniform(2, 85))
        exam.__class__.objects.filter(pk=exam.pk).update(created_at=created)
        first_by, second_by = rng.sample(graders, 2)
        at = created + timedelta(hours=rng.expovariate(1 / 14))
        first = add_grading(exam, Role.PRIMARY, first_by, _said(rng, first_by, truth), at)
        deciding = first
        if first.referable or truth in REFERABLE_OUTCOMES or rng.random() < 0.45:
            at += timedelta(hours=rng.expovariate(1 / 20))
            second = add_grading(exam, Role.SECONDARY, second_by, _said(rng, second_by, truth), at)
            if second.outcome != first.outcome:
                at += timedelta(hours=rng.expovariate(1 / 30))
                deciding = add_grading(exam, Role.ARBITRATION, w.sophie, truth, at)
        decide(exam, deciding, at)


def _said(rng, grader, truth):
    if rng.random() < SKILL[grader.username]:
        return truth
    return rng.choice([o for o, _ in OUTCOMES if o != truth])


def test_a_data_manager_reads_the_quarters_figures_and_downloads_them(page, world, graders):
    a_quarter_of_screening(graders)
    sign_in(page, "mary")
    page.get_by_role("link", name="Quality").click()
    page.wait_for_url("**/grading/quality")
    assert page.locator("#graders tbody tr").count() == 6  # five graders and sophie
    assert page.locator("#kappa-chart").is_visible()
    assert page.locator("#camera-chart text.bar-label").all_text_contents() == [
        "Canon CR-2",
        "Optos Daytona",
        "Topcon TRC-NW400",
    ]
    screenshot(page, "quality")

    # Keyboard only: into the lab unit filter, choose Screening, submit with Enter.
    page.locator("#f-lab-unit").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.locator("#f-date-to").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/grading/quality?*lab_unit=*")
    assert "Screening" in page.locator("#f-lab-unit option:checked").inner_text()

    with page.expect_download() as download:
        page.locator("#download-csv").click()
    assert download.value.suggested_filename.startswith("grading-quality-")
