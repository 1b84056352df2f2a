"""Filing images into examinations: one subject's images of one visit, from any source.

A camera session's images share a subject and a day, so they land in one examination; direct
uploads join the examination of their subject and upload day. An image with no subject gets an
examination of its own, until staff move it. The unique (hospital, group_key) constraint decides
which examination a visit has when two images arrive at once.
"""

import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone

from fundushub.audit.models import record
from fundushub.grading.models import (
    ExamGrading,
    Examination,
    ExaminationImage,
    Outcome,
    Programme,
    Role,
    Stage,
)
from fundushub.store.models import GradingStatus, Image

DEFAULT_SCHEME = "DR"


def group_key_of(image: Image, visit_date) -> str:
    if image.subject_identifier:
        return f"visit:{image.subject_identifier}:{visit_date.isoformat()}"
    return f"image:{image.pk}"


def programme_for(image: Image) -> Programme | None:
    """The programme of the image's disease scheme, preferring one that names its lab unit."""
    code = image.disease.code if image.disease_id else DEFAULT_SCHEME
    candidates = Programme.objects.filter(scheme__code=code).order_by("pk")
    return (
        candidates.filter(lab_units=image.lab_unit_id).first()
        or candidates.filter(lab_units=None).first()
    )


def file_image(image: Image, *, taken_at=None, brought_by_id=None) -> Examination:
    """Put the image in its visit's examination (made when missing); idempotent per image.
    taken_at: when it was captured (camera) or uploaded; its local date is the visit's."""
    link = ExaminationImage.objects.filter(image=image).select_related("examination").first()
    if link:
        return link.examination
    visit_date = timezone.localdate(taken_at or image.created_at or timezone.now())
    exam = _examination_for(image, visit_date, brought_by_id)
    ExaminationImage.objects.get_or_create(image=image, defaults={"examination": exam})
    return exam


def _examination_for(image: Image, visit_date, brought_by_id) -> Examination:
    key = group_key_of(image, visit_date)
    found = Examination.objects.filter(hospital_id=image.hospital_id, group_key=key).first()
    if found:
        return found
    try:
        with transaction.atomic():
            exam = Examination.objects.create(
                hospital_id=image.hospital_id,
                lab_unit_id=image.lab_unit_id,
                group_key=key,
                subject_identifier=image.subject_identifier,
                visit_date=visit_date,
                programme=programme_for(image),
                brought_by_id=brought_by_id,
            )
    except IntegrityError:  # filed by another worker at the same moment: theirs stands
        return Examination.objects.get(hospital_id=image.hospital_id, group_key=key)
    if image.grading_status == GradingStatus.PRE_GRADED:
        _graded_elsewhere(exam, brought_by_id)
    return exam


def _graded_elsewhere(exam: Examination, user_id) -> None:
    """A pre-graded set arrives graded: its examination is decided, not queued for graders."""
    grading = ExamGrading.objects.create(
        examination=exam,
        role=Role.PRE_GRADED,
        grader_id=user_id,
        outcome=Outcome.GRADED_ELSEWHERE,
        outcome_rule="uploaded as a pre-graded set",
    )
    now = timezone.now()
    Examination.objects.filter(pk=exam.pk).update(
        stage=Stage.DONE,
        outcome=Outcome.GRADED_ELSEWHERE,
        outcome_rule=grading.outcome_rule,
        final_grading=grading,
        decided_by_id=user_id,
        decided_reason="Pre-graded before upload",
        decided_at=now,
        waiting_since=now,
    )


def move_image(image: Image, target: Examination | None, user, request=None) -> Examination:
    """Move an image to another examination of its hospital, or (target None) to a new one of
    its own; the move is audited. Decided examinations keep their images: a grade refers to them."""
    link = ExaminationImage.objects.select_related("examination").get(image=image)
    source = link.examination
    if source.stage == Stage.DONE:
        raise ValueError("This examination's outcome is decided; its images stay with it.")
    if target is not None and target.hospital_id != image.hospital_id:
        raise ValueError("An image can only move to an examination of its own hospital.")
    if target is not None and target.stage == Stage.DONE:
        raise ValueError("The chosen examination's outcome is decided; it takes no more images.")
    with transaction.atomic():
        if target is None:
            target = Examination.objects.create(
                hospital_id=image.hospital_id,
                lab_unit_id=image.lab_unit_id,
                group_key=f"manual:{uuid.uuid4()}",
                subject_identifier=image.subject_identifier,
                visit_date=source.visit_date,
                programme=source.programme,
                brought_by=source.brought_by,
            )
        ExaminationImage.objects.filter(image=image).update(examination=target)
        record(
            "examination.image_moved",
            request=request,
            user=user,
            obj=image,
            before={"examination": str(source.pk)},
            after={"examination": str(target.pk)},
        )
    return target


def file_unfiled(batch: int = 500) -> int:
    """File every image that is in no examination yet (images stored before examinations
    existed, or by a process that died between storing and filing); returns how many."""
    filed = 0
    while True:
        images = list(
            Image.objects.filter(examination_link__isnull=True)
            .select_related("disease")
            .order_by("created_at", "id")[:batch]
        )
        for image in images:
            file_image(image, brought_by_id=image.uploaded_by_id)
        filed += len(images)
        if len(images) < batch:
            return filed
