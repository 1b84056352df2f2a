"""grading/workflow.py: first grading, blind second grading, arbitration, claims and revisions."""

import pytest

from fundushub.audit.models import AuditEvent
from fundushub.grading import workflow
from fundushub.grading.models import ExamGrading, Examination, Grade, Role, Stage
from fundushub.grading.outcomes import InvalidGrading
from fundushub.store.models import GradingStatus, Image
from tests.conftest import examination_of


def dr(right="R0", left="R0", m="M0", p="P0"):
    return {"right": {"R": right, "M": m, "P": p}, "left": {"R": left, "M": m, "P": p}}


@pytest.fixture
def no_second(graders):
    exam = examination_of(graders, 1)
    exam.programme.qa_sample_percent = 0
    exam.programme.save()
    return exam


def fresh(exam):
    return Examination.objects.get(pk=exam.pk)


def test_a_first_grading_with_no_second_due_decides_the_outcome(no_second, graders):
    exam = no_second
    assert workflow.claim(graders.gina, exam)
    grading = workflow.record_grading(graders.gina, exam, dr("R0", "R0"))
    exam = fresh(exam)
    assert (exam.stage, exam.outcome, exam.final_grading) == (Stage.DONE, "recall_24", grading)
    assert exam.outcome_rule == "R0 in both eyes → Routine recall in 24 months"
    assert exam.decided_reason == "Single grading: no second grading required"
    assert exam.claimed_by is None


def test_the_decided_grade_becomes_each_images_next_revision(no_second, graders):
    workflow.record_grading(graders.gina, no_second, dr("R1", "R0", m="M0"))
    grades = dict(Grade.objects.values_list("image__area__code", "grade"))
    assert grades == {"right": "R1 M0 P0", "left": "R0 M0 P0"}
    statuses = set(Image.objects.values_list("grading_status", flat=True))
    assert statuses == {GradingStatus.GRADED}


def test_a_referable_first_grading_goes_to_a_second_grader(no_second, graders):
    workflow.record_grading(graders.gina, no_second, dr("R2", "R0"))
    exam = fresh(no_second)
    assert (exam.stage, exam.second_reason, exam.primary_grader) == (
        Stage.SECONDARY,
        "referable",
        graders.gina,
    )
    assert exam.outcome == ""


def test_the_first_grader_never_gives_the_second_grading(no_second, graders):
    workflow.record_grading(graders.gina, no_second, dr("R2", "R0"))
    exam = fresh(no_second)
    assert exam not in workflow.waiting_for(graders.gina)
    assert exam in workflow.waiting_for(graders.greg)
    with pytest.raises(workflow.NotYours, match="different grader"):
        workflow.record_grading(graders.gina, exam, dr("R2", "R0"))


def test_agreeing_graders_decide_with_the_first_grading(no_second, graders):
    first = workflow.record_grading(graders.gina, no_second, dr("R2", "R0"))
    workflow.record_grading(graders.greg, fresh(no_second), dr("R2", "R1"))
    exam = fresh(no_second)
    assert (exam.stage, exam.outcome, exam.final_grading) == (Stage.DONE, "refer_soon", first)
    assert exam.decided_reason == "First and second graders agree"


def test_a_disagreement_in_outcome_goes_to_arbitration_and_the_arbiter_decides(no_second, graders):
    workflow.record_grading(graders.gina, no_second, dr("R2", "R0"))
    workflow.record_grading(graders.greg, fresh(no_second), dr("R1", "R1"))
    exam = fresh(no_second)
    assert exam.stage == Stage.ARBITRATION
    assert exam.disagreement[0] == {
        "field": "outcome",
        "eye": "",
        "first": "refer_soon",
        "second": "recall_12",
    }
    assert exam not in workflow.waiting_for(graders.greg)
    assert exam in workflow.waiting_for(graders.sophie)
    with pytest.raises(InvalidGrading, match="Say why"):
        workflow.record_grading(graders.sophie, exam, dr("R3a", "R1"))
    final = workflow.record_grading(
        graders.sophie, exam, dr("R3a", "R1"), reason="new vessels at the disc"
    )
    exam = fresh(exam)
    assert (exam.stage, exam.outcome, exam.final_grading, exam.decided_by) == (
        Stage.DONE,
        "refer_urgent",
        final,
        graders.sophie,
    )
    assert exam.decided_reason == "new vessels at the disc"
    assert [g.role for g in exam.gradings.order_by("pk")] == [
        Role.PRIMARY,
        Role.SECONDARY,
        Role.ARBITRATION,
    ]
    actions = list(
        AuditEvent.objects.filter(object_id=str(exam.pk)).values_list("action", flat=True)
    )
    assert actions.count("examination.graded") == 3
    assert "examination.disagreement" in actions and "examination.decided" in actions


def test_a_difference_in_a_named_field_goes_to_arbitration_even_with_the_same_outcome(
    no_second, graders
):
    no_second.programme.compare_fields = ["P"]
    no_second.programme.save()
    workflow.record_grading(graders.gina, no_second, dr("R2", "R0", p="P0"))
    workflow.record_grading(graders.greg, fresh(no_second), dr("R2", "R0", p="P1"))
    exam = fresh(no_second)
    assert exam.stage == Stage.ARBITRATION
    assert {d["field"] for d in exam.disagreement} == {"P"}


def test_ordinary_graders_do_not_arbitrate(no_second, graders):
    workflow.record_grading(graders.gina, no_second, dr("R2", "R0"))
    workflow.record_grading(graders.greg, fresh(no_second), dr("R0", "R0"))
    with pytest.raises(workflow.NotYours, match="senior graders"):
        workflow.record_grading(graders.greg, fresh(no_second), dr("R0", "R0"), reason="x")


def test_every_examination_gets_a_second_grading_when_the_programme_says_all(graders):
    exam = examination_of(graders, 2)
    exam.programme.second_all = True
    exam.programme.save()
    workflow.record_grading(graders.gina, exam, dr())
    assert (fresh(exam).stage, fresh(exam).second_reason) == (Stage.SECONDARY, "every examination")


def test_the_qa_sample_sends_non_referable_examinations_to_a_second_grader(graders):
    exam = examination_of(graders, 3)
    exam.programme.qa_sample_percent = 100
    exam.programme.save()
    workflow.record_grading(graders.gina, exam, dr())
    assert fresh(exam).second_reason == "quality assurance sample"


def test_a_claimed_examination_is_not_offered_or_graded_by_anyone_else(no_second, graders):
    assert workflow.claim(graders.gina, no_second)
    assert no_second not in workflow.waiting_for(graders.greg)
    assert not workflow.claim(graders.greg, fresh(no_second))
    with pytest.raises(workflow.NotYours, match="Another grader"):
        workflow.record_grading(graders.greg, fresh(no_second), dr())


def test_an_expired_claim_frees_the_examination(no_second, graders):
    from datetime import timedelta

    from django.utils import timezone

    workflow.claim(graders.gina, no_second)
    Examination.objects.filter(pk=no_second.pk).update(
        claim_until=timezone.now() - timedelta(seconds=1)
    )
    assert fresh(no_second) in workflow.waiting_for(graders.greg)
    assert workflow.claim(graders.greg, fresh(no_second))


def test_the_uploader_does_not_grade_their_own_examination_where_the_programme_says_so(graders):
    exam = examination_of(graders, 4, user=graders.gina)
    assert exam.brought_by == graders.gina
    assert exam not in workflow.waiting_for(graders.gina)
    with pytest.raises(workflow.NotYours, match="uploaded or captured"):
        workflow.record_grading(graders.gina, exam, dr())
    exam.programme.exclude_own = False
    exam.programme.save()
    assert fresh(exam) in workflow.waiting_for(graders.gina)


def test_a_grader_sees_only_their_lab_units_examinations(graders):
    ours = examination_of(graders, 5)
    theirs = examination_of(graders, 6, lab_unit=graders.outpatients, user=graders.bob)
    waiting = list(workflow.waiting_for(graders.gina))
    assert ours in waiting and theirs not in waiting


def test_the_worklist_serves_the_longest_waiting_first(graders):
    first = examination_of(graders, 7, subject="A-1")
    second = examination_of(graders, 8, subject="A-2")
    assert list(workflow.waiting_for(graders.gina))[:2] == [first, second]


def test_every_field_of_both_eyes_must_be_graded(no_second, graders):
    with pytest.raises(InvalidGrading, match="Maculopathy \\(left eye\\)"):
        workflow.record_grading(
            graders.gina,
            no_second,
            {"right": {"R": "R0", "M": "M0", "P": "P0"}, "left": {"R": "R0", "P": "P0"}},
        )
    with pytest.raises(InvalidGrading, match="R9 is not a Retinopathy grade"):
        workflow.record_grading(graders.gina, no_second, dr("R9"))
    assert not ExamGrading.objects.exists()


def test_a_senior_grader_revises_a_decided_outcome_and_the_earlier_grading_stays(
    no_second, graders
):
    first = workflow.record_grading(graders.gina, no_second, dr())
    with pytest.raises(workflow.NotYours):
        workflow.revise(graders.greg, fresh(no_second), dr("R2"), "looked again")
    revision = workflow.revise(graders.sophie, fresh(no_second), dr("R2"), "haemorrhages missed")
    exam = fresh(no_second)
    assert (exam.outcome, exam.final_grading, exam.decided_by) == (
        "refer_soon",
        revision,
        graders.sophie,
    )
    assert ExamGrading.objects.filter(pk=first.pk).exists()
    assert list(
        Grade.objects.filter(image__area__code="right")
        .order_by("revision")
        .values_list("grade", flat=True)
    ) == ["R0 M0 P0", "R2 M0 P0"]


def test_a_pre_graded_upload_files_into_a_decided_examination(graders):
    exam = examination_of(graders, 9, grading_status=GradingStatus.PRE_GRADED)
    exam = fresh(exam)
    assert (exam.stage, exam.outcome) == (Stage.DONE, "graded_elsewhere")
    assert exam.final_grading.role == Role.PRE_GRADED
    assert exam not in workflow.waiting_for(graders.gina)


def test_a_senior_grader_who_gave_one_of_the_disagreeing_gradings_does_not_arbitrate(
    no_second, graders
):
    from fundushub.accounts import roles
    from tests.conftest import make_user

    workflow.record_grading(graders.sophie, no_second, dr("R2", "R0"))
    workflow.record_grading(graders.greg, fresh(no_second), dr("R0", "R0"))
    exam = fresh(no_second)
    assert exam.stage == Stage.ARBITRATION
    assert exam not in workflow.waiting_for(graders.sophie)
    with pytest.raises(workflow.NotYours, match="another senior grader arbitrates"):
        workflow.record_grading(graders.sophie, exam, dr("R2", "R0"), reason="mine")
    other = make_user("olga", roles.SENIOR_GRADER, [graders.retina])
    assert exam in workflow.waiting_for(other)


def test_an_eyes_grade_reads_in_the_schemes_field_order_whatever_order_it_was_stored_in():
    from fundushub.grading.outcomes import summary

    stored = {"right": {"P": "P1", "M": "M0", "R": "R3a"}}
    assert summary(stored, "right", ["R", "M", "P"]) == "R3a M0 P1"
    assert summary(stored, "right", ["R"]) == "R3a P1 M0"  # unknown fields last, as stored
    assert summary(stored, "left", ["R", "M", "P"]) == ""
