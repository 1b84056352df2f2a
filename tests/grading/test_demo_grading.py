"""grading/demo.py: the demo's examinations in every stage, made by the workflow itself."""

import random
from collections import Counter

import pytest
from django.utils import timezone

from fundushub.audit.models import AuditEvent
from fundushub.grading import demo, workflow
from fundushub.grading.models import ExamGrading, Examination, Outcome, Role, Stage
from fundushub.library.seeding import seed_images
from fundushub.store.models import Image


@pytest.fixture
def demo_world(graders):
    """gina, greg and sophie grade every lab unit; 80 seeded images (40 visits), worked."""
    units = [graders.retina, graders.screening, graders.outpatients]
    for user in (graders.gina, graders.greg, graders.sophie):
        user.lab_units.set(units)
    seed_images(80, size=(96, 72))
    graders.stages = demo.work_demo_examinations()
    return graders


def test_it_files_every_image_into_an_examination_of_both_eyes(demo_world):
    assert not Image.objects.filter(examination_link__isnull=True).exists()
    assert Examination.objects.count() == 40
    for exam in Examination.objects.all():
        eyes = exam.image_links.values_list("image__area__code", flat=True)
        assert sorted(eyes) == ["left", "right"]


def test_it_leaves_examinations_in_every_stage(demo_world):
    assert set(demo_world.stages) == set(Stage.values)
    assert sum(demo_world.stages.values()) == 40
    waiting = Examination.objects.filter(stage=Stage.PRIMARY)
    assert waiting.filter(claim_until__gt=timezone.now(), claimed_by__isnull=False).exists()
    assert waiting.filter(claim_until__isnull=True, gradings__isnull=True).exists()


def test_decided_examinations_have_various_outcomes_and_say_who_decided_and_why(demo_world):
    decided = Examination.objects.filter(stage=Stage.DONE).exclude(outcome=Outcome.GRADED_ELSEWHERE)
    assert len(set(decided.values_list("outcome", flat=True))) >= 3
    for exam in decided:
        assert exam.final_grading.outcome == exam.outcome
        assert exam.decided_reason and exam.decided_at
    reasons = set(decided.values_list("decided_reason", flat=True))
    assert "First and second graders agree" in reasons
    assert reasons & set(demo.REASONS)
    arbitrated = decided.filter(final_grading__role=Role.ARBITRATION)
    assert {e.decided_by for e in arbitrated} == {demo_world.sophie}


def test_every_grading_went_through_the_workflow_and_is_audited(demo_world):
    gradings = ExamGrading.objects.exclude(role=Role.PRE_GRADED)
    assert gradings.exists()
    graded = AuditEvent.objects.filter(action="examination.graded")
    assert graded.count() == gradings.count()
    assert AuditEvent.objects.filter(action="examination.disagreement").exists()
    # The decided grade became each image's next grade revision, as the workflow does it.
    assert Image.objects.filter(grades__grading__isnull=False).exists()


def test_a_second_grading_is_never_by_the_first_grader(demo_world):
    for second in ExamGrading.objects.filter(role=Role.SECONDARY):
        first = second.examination.gradings.get(role=Role.PRIMARY)
        assert first.grader != second.grader


def test_arbitration_waits_with_a_disagreement_in_outcome(demo_world):
    waiting = Examination.objects.filter(stage=Stage.ARBITRATION)
    assert waiting.exists()
    for exam in waiting:
        assert exam.disagreement[0]["field"] == "outcome"
        first, second = (exam.gradings.get(role=r) for r in (Role.PRIMARY, Role.SECONDARY))
        assert first.outcome != second.outcome
        assert exam in workflow.waiting_for(demo_world.sophie)
        assert exam not in workflow.waiting_for(demo_world.gina)


def test_the_first_named_grader_has_the_second_gradings_left_waiting(demo_world):
    # The demo's "grader" account finds second gradings on its worklist, not its own first ones.
    waiting = Examination.objects.filter(stage=Stage.SECONDARY)
    assert waiting.exists()
    gina_waits = set(workflow.waiting_for(demo_world.gina))
    assert all(exam in gina_waits for exam in waiting)


def test_it_grades_nothing_where_no_senior_grader_works(world):
    # world: gina grades Retina alone; no second grader, no arbiter.
    seed_images(20, size=(96, 72))
    stages = demo.work_demo_examinations()
    assert Examination.objects.count() == 10
    assert not ExamGrading.objects.exclude(role=Role.PRE_GRADED).exists()
    assert set(stages) <= {Stage.PRIMARY, Stage.DONE}


@pytest.mark.parametrize("n", [0, 1, 6])
def test_a_few_examinations_get_one_plan_each_in_order(n):
    plans = demo._plans(n, random.Random(1))
    assert plans == ["single", "agreed", "arbitrated", "arbitration", "second", "claimed"][:n]


def test_many_examinations_are_decided_oldest_first_and_the_newest_wait():
    plans = demo._plans(100, random.Random(1))
    counts = Counter(plans)
    assert counts == {
        "single": 27,
        "agreed": 11,
        "arbitrated": 7,
        "arbitration": 8,
        "second": 12,
        "claimed": 5,
        "waiting": 30,
    }
    assert set(plans[:45]) == {"single", "agreed", "arbitrated"}
    assert plans[-30:] == ["waiting"] * 30
