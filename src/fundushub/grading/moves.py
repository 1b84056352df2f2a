"""Staff moving an image between examinations from the examination page: the choice checked
against what the user may see, the move itself (examinations.move_image), and the examination it
leaves removed when nothing is left in it, so no grader is offered an examination without images."""

import uuid

from django.db import transaction

from fundushub.audit.models import record
from fundushub.grading.examinations import move_image
from fundushub.grading.models import ExamGrading, Examination, ExaminationImage

NEW = "new"
CHOOSE = "Choose an examination from the list, or a new examination of its own."


class MoveRefused(ValueError):
    """The move cannot be made; the message says why."""


def target_of(user, choice: str) -> Examination | None:
    """The examination chosen (None: a new one of its own); one the user does not see is
    refused as if it did not exist."""
    choice = (choice or "").strip()
    if choice == NEW:
        return None
    try:
        pk = uuid.UUID(choice)
    except ValueError:
        raise MoveRefused(CHOOSE) from None
    target = Examination.objects.visible_to(user).filter(pk=pk).first()
    if target is None:
        raise MoveRefused(CHOOSE)
    return target


def move(user, image, source: Examination, choice: str, request=None) -> tuple[Examination, bool]:
    """Move the image out of `source`; returns (where it went, whether `source` was removed)."""
    target = target_of(user, choice)
    if target is not None and target.pk == source.pk:
        raise MoveRefused("The image is already in this examination.")
    with transaction.atomic():
        try:
            target = move_image(image, target, user, request=request)
        except ValueError as e:
            raise MoveRefused(str(e)) from None
        return target, _remove_if_empty(source, user, request)


def _remove_if_empty(exam: Examination, user, request) -> bool:
    """An examination left with no image and no grading is removed (audited); one that was
    graded stays, with its history."""
    if ExaminationImage.objects.filter(examination=exam).exists():
        return False
    if ExamGrading.objects.filter(examination=exam).exists():
        return False
    record("examination.removed_empty", request=request, user=user, obj=exam)
    Examination.objects.filter(pk=exam.pk).delete()
    return True
