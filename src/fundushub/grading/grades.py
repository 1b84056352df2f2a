"""Recording a grade: each one is the image's next revision; earlier revisions stay as they were."""

from django.db import IntegrityError, transaction

from fundushub.audit.models import record
from fundushub.grading.models import Grade
from fundushub.grading.scales import label_for, scale_for
from fundushub.store.models import GradingStatus, Image

MAX_NOTES = 2000
ATTEMPTS = 5
BUSY = "Someone else graded this image at the same moment; please try again."


class GradeRefused(ValueError):
    """The grade cannot be recorded; the message says why (status: 400 invalid, 409 busy)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def validate(image: Image, code: str, notes: str) -> tuple[str, str]:
    code, notes = (code or "").strip(), (notes or "").strip()
    scale = scale_for(image.disease)
    if code not in dict(scale):
        disease = image.disease.code if image.disease else "this image"
        choices = ", ".join(f"{c} ({label})" for c, label in scale)
        raise GradeRefused(f"Choose a grade from the {disease} scale: {choices}.")
    if len(notes) > MAX_NOTES:
        raise GradeRefused(f"Notes are limited to {MAX_NOTES} characters (you wrote {len(notes)}).")
    return code, notes


def _next_revision(image: Image) -> int:
    last = (
        Grade.objects.filter(image=image).order_by("-revision").values_list("revision", flat=True)
    )
    return (last.first() or 0) + 1


def record_grade(image: Image, code: str, notes: str, user, request=None) -> Grade:
    """Add the next revision and mark the image graded, in one transaction.

    Two graders at once may pick the same revision number; the unique (image, revision)
    constraint lets one win, and the other retries with the next number."""
    code, notes = validate(image, code, notes)
    for _ in range(ATTEMPTS):
        try:
            with transaction.atomic():
                return _add(image, code, notes, user, request)
        except IntegrityError:
            continue
    raise GradeRefused(BUSY, status=409)


def _add(image, code, notes, user, request) -> Grade:
    revision = _next_revision(image)
    previous = Grade.objects.filter(image=image, revision=revision - 1).first()
    status_before = Image.objects.filter(pk=image.pk).values_list("grading_status", flat=True)
    status_before = status_before.first()
    grade = Grade.objects.create(
        image=image,
        revision=revision,
        disease=image.disease,
        grade=code,
        notes=notes,
        graded_by=user,
    )
    Image.objects.filter(pk=image.pk).update(grading_status=GradingStatus.GRADED)
    image.grading_status = GradingStatus.GRADED
    record(
        "image.graded",
        request=request,
        user=user,
        obj=image,
        revision=revision,
        grade=code,
        label=label_for(image.disease, code),
        previous_grade=previous.grade if previous else None,
        disease=image.disease.code if image.disease else None,
        before={"grading_status": status_before, "grade": previous.grade if previous else None},
        after={"grading_status": GradingStatus.GRADED, "grade": code},
    )
    return grade
