"""The grading workflow: who may grade which examination next, claims, and what a recorded
grading leads to (done, a blind second grading, arbitration).

primary ──(no second)──────────────────────────────▶ done (final = primary)
   └──(all / referable / QA sample)──▶ secondary ──(agree)──▶ done (final = primary)
                                          └──(disagree)──▶ arbitration ──▶ done (final = arbiter's)

Every step is a conditional UPDATE on the examination's stage and claim, so two graders saving at
once cannot both move it; every grading is a new row, audited.
"""

import secrets
from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from fundushub.accounts.roles import can_arbitrate
from fundushub.audit.models import record
from fundushub.grading.models import ExamGrading, Examination, Grade, Role, Stage
from fundushub.grading.outcomes import (
    MAX_NOTES,
    MAX_REASON,
    InvalidGrading,
    clean_values,
    decide,
    differences,
    field_order,
    form_of,
)
from fundushub.grading.outcomes import summary as eye_summary
from fundushub.store.models import GradingStatus, Image

GRADE = "images.grade_image"
ROLE_OF_STAGE = {
    Stage.PRIMARY: Role.PRIMARY,
    Stage.SECONDARY: Role.SECONDARY,
    Stage.ARBITRATION: Role.ARBITRATION,
}
CLAIMED = "Another grader is working on this examination."
MOVED_ON = "This examination has moved on since you opened it; it is no longer yours to grade."


class NotYours(PermissionError):
    """The user may not grade this examination now; the message says why."""


def may_arbitrate(user) -> bool:
    return can_arbitrate(user)


def waiting_for(user, now=None):
    """The examinations waiting for this grader, longest-waiting first: their lab units, not
    claimed by someone else, not their own uploads where the programme says so, a second grading
    never by the first grader, arbitration only for senior graders."""
    now = now or timezone.now()
    stages = Q(stage=Stage.PRIMARY) | (
        Q(stage=Stage.SECONDARY) & ~Q(primary_grader=user) & Q(primary_grader__isnull=False)
    )
    if may_arbitrate(user):
        stages |= Q(stage=Stage.ARBITRATION) & ~Exists(_graded_by(user))
    own = Q(programme__exclude_own=True, brought_by=user)
    return (
        Examination.objects.visible_to(user)
        .filter(stages, _free_for(user, now))
        .exclude(own)
        .order_by("waiting_since", "id")
    )


def _free_for(user, now) -> Q:
    """Not held by anyone else: never claimed, the claim ran out, or it is this user's."""
    return Q(claim_until__isnull=True) | Q(claim_until__lt=now) | Q(claimed_by=user)


def _graded_by(user, exam_pk=None):
    """The first or second gradings this user gave (of one examination, or of the outer row)."""
    exam = exam_pk if exam_pk is not None else OuterRef("pk")
    return ExamGrading.objects.filter(
        examination=exam, grader=user, role__in=(Role.PRIMARY, Role.SECONDARY)
    )


def why_not(user, exam: Examination, now=None) -> str:
    """ "" when the user may grade this examination now; else the reason, in words."""
    now = now or timezone.now()
    if not user.has_perm(GRADE):
        return "Only graders record grades."
    if exam.stage == Stage.DONE:
        return "This examination's outcome is already decided."
    if exam.stage == Stage.ARBITRATION and not may_arbitrate(user):
        return "Only senior graders arbitrate."
    if exam.stage == Stage.ARBITRATION and _graded_by(user, exam.pk).exists():
        return "You gave one of the gradings that disagree; another senior grader arbitrates."
    if exam.stage == Stage.SECONDARY and exam.primary_grader_id == user.pk:
        return "You graded this examination first; a different grader gives the second grading."
    programme = exam.programme
    if programme and programme.exclude_own and exam.brought_by_id == user.pk:
        return "You uploaded or captured this examination; another grader grades it."
    if exam.claim_until and exam.claim_until > now and exam.claimed_by_id != user.pk:
        return CLAIMED
    return ""


def claim(user, exam: Examination) -> bool:
    """Hold the examination for this grader for the programme's claim time (renewed if theirs)."""
    now = timezone.now()
    if why_not(user, exam, now):
        return False
    minutes = exam.programme.claim_minutes if exam.programme else 20
    until = now + timedelta(minutes=minutes)
    taken = (
        Examination.objects.filter(pk=exam.pk, stage=exam.stage)
        .filter(_free_for(user, now))
        .update(claimed_by=user, claim_until=until)
    )
    if taken:
        exam.claimed_by, exam.claim_until = user, until
    return bool(taken)


def release(user, exam: Examination) -> None:
    Examination.objects.filter(pk=exam.pk, claimed_by=user).update(
        claimed_by=None, claim_until=None
    )


def record_grading(user, exam: Examination, raw_values: dict, notes="", reason="", request=None):
    """Record this grader's grading for the examination's current stage and move it on.
    Raises InvalidGrading (fix the form) or NotYours (someone else has it, or it moved on)."""
    problem = why_not(user, exam)
    if problem:
        raise NotYours(problem)
    if exam.programme is None:
        raise InvalidGrading("This examination has no grading programme; ask an administrator.")
    stage = exam.stage
    values = clean_values(form_of(exam.programme.scheme), raw_values)
    notes, reason = (notes or "").strip(), (reason or "").strip()
    if len(notes) > MAX_NOTES or len(reason) > MAX_REASON:
        raise InvalidGrading(
            f"Notes are limited to {MAX_NOTES} characters and reasons to {MAX_REASON}."
        )
    if stage == Stage.ARBITRATION and not reason:
        raise InvalidGrading("Say why you decided as you did: the reason is kept with the outcome.")
    decision = decide(exam.programme, values)
    with transaction.atomic():
        now = timezone.now()
        # The fence: still at this stage, and not held by anyone else.
        locked = Examination.objects.select_for_update(of=("self",)).filter(pk=exam.pk, stage=stage)
        exam = locked.filter(_free_for(user, now)).select_related("programme").first()
        if exam is None:
            raise NotYours(MOVED_ON)
        grading = ExamGrading.objects.create(
            examination=exam,
            role=ROLE_OF_STAGE[stage],
            grader=user,
            scheme=exam.programme.scheme,
            values=values,
            outcome=decision.outcome,
            outcome_rule=decision.rule,
            referable=decision.referable,
            notes=notes,
        )
        record(
            "examination.graded",
            request=request,
            user=user,
            obj=exam,
            role=grading.role,
            values=values,
            outcome=grading.outcome,
            rule=grading.outcome_rule,
        )
        _move_on(exam, grading, user, reason, request)
    return grading


def _move_on(exam: Examination, grading: ExamGrading, user, reason: str, request) -> None:
    if grading.role == Role.PRIMARY:
        why_second = _second_reason(exam, grading)
        if why_second:
            _advance(exam, Stage.SECONDARY, primary_grader=user, second_reason=why_second)
        else:
            _advance(exam, Stage.DONE, primary_grader=user)
            decide_outcome(
                exam, grading, None, "Single grading: no second grading required", request
            )
    elif grading.role == Role.SECONDARY:
        first = exam.gradings.filter(role=Role.PRIMARY).order_by("-revision").first()
        fields = [f for f in (exam.programme.compare_fields or []) if isinstance(f, str)]
        found = differences(first.values, grading.values, fields)
        if first.outcome != grading.outcome:
            found.insert(0, {"field": "outcome", "eye": "", "first": first.outcome,
                             "second": grading.outcome})  # fmt: skip
        if found:
            _advance(exam, Stage.ARBITRATION, disagreement=found)
            record("examination.disagreement", request=request, user=user, obj=exam, found=found)
        else:
            _advance(exam, Stage.DONE)
            decide_outcome(exam, first, None, "First and second graders agree", request)
    else:  # arbitration
        _advance(exam, Stage.DONE)
        decide_outcome(exam, grading, user, reason, request)


def _second_reason(exam: Examination, grading: ExamGrading) -> str:
    programme = exam.programme
    if programme.second_all:
        return "every examination"
    if programme.second_referable and grading.referable:
        return "referable"
    if programme.qa_sample_percent and secrets.randbelow(100) < programme.qa_sample_percent:
        return "quality assurance sample"
    return ""


def _advance(exam: Examination, stage: str, **changes) -> None:
    changes.update(stage=stage, claimed_by=None, claim_until=None, waiting_since=timezone.now())
    Examination.objects.filter(pk=exam.pk).update(**changes)
    for name, value in changes.items():
        setattr(exam, name, value)


def decide_outcome(exam: Examination, grading: ExamGrading, user, reason: str, request=None):
    """Make a grading the examination's final one: its outcome, who decided and why; each image
    gets the grade of its eye as its next revision (the per-image history stays one history)."""
    now = timezone.now()
    changes = dict(
        outcome=grading.outcome,
        outcome_rule=grading.outcome_rule,
        referable=grading.referable,
        final_grading=grading,
        decided_by=user,
        decided_reason=reason[:MAX_REASON],
        decided_at=now,
    )
    Examination.objects.filter(pk=exam.pk).update(**changes)
    for name, value in changes.items():
        setattr(exam, name, value)
    _grade_images(exam, grading)
    record(
        "examination.decided",
        request=request,
        user=user,
        obj=exam,
        outcome=grading.outcome,
        rule=grading.outcome_rule,
        grading=grading.pk,
        reason=reason,
    )


def _grade_images(exam: Examination, grading: ExamGrading) -> None:
    images = Image.objects.filter(examination_link__examination=exam).select_related("area")
    order = field_order(form_of(grading.scheme)) if grading.scheme_id else ()
    for image in images:
        eye = image.area.code if image.area_id else ""
        if eye not in ("left", "right"):
            continue  # an image of unknown eye keeps no per-eye grade
        last = image.grades.order_by("-revision").values_list("revision", flat=True).first()
        Grade.objects.create(
            image=image,
            revision=(last or 0) + 1,
            disease=image.disease,
            grade=eye_summary(grading.values, eye, order)[:20],
            notes=f"Examination outcome: {grading.get_outcome_display()}",
            graded_by=grading.grader,
            grading=grading,
        )
    images.exclude(grading_status=GradingStatus.PRE_GRADED).update(
        grading_status=GradingStatus.GRADED
    )


def revise(user, exam: Examination, raw_values: dict, reason: str, request=None) -> ExamGrading:
    """A senior grader revises a decided outcome: a new grading, which becomes the final one;
    every earlier grading stays."""
    if not may_arbitrate(user):
        raise NotYours("Only senior graders revise a decided outcome.")
    if exam.stage != Stage.DONE or exam.programme is None:
        raise NotYours("Only a decided examination is revised; grade it from the worklist.")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidGrading("Say why the outcome is revised: the reason is kept with it.")
    values = clean_values(form_of(exam.programme.scheme), raw_values)
    decision = decide(exam.programme, values)
    with transaction.atomic():
        Examination.objects.select_for_update().filter(pk=exam.pk).first()
        last = exam.gradings.filter(role=Role.REVISION).order_by("-revision").first()
        grading = ExamGrading.objects.create(
            examination=exam,
            role=Role.REVISION,
            revision=(last.revision + 1) if last else 1,
            grader=user,
            scheme=exam.programme.scheme,
            values=values,
            outcome=decision.outcome,
            outcome_rule=decision.rule,
            referable=decision.referable,
            notes=reason,
        )
        decide_outcome(exam, grading, user, reason[:MAX_REASON], request)
    return grading
