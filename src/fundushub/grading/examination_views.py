"""The examination page (both eyes side by side, every image, reports, gradings, history) and
staff moving an image to another examination."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from fundushub.accounts.roles import sees_lab_unit_jobs
from fundushub.grading import examination_page
from fundushub.grading.models import Examination
from fundushub.grading.moves import MoveRefused, move
from fundushub.store.models import Image

_RELATED = (
    "hospital",
    "lab_unit",
    "programme__scheme",
    "decided_by",
    "final_grading__grader",
    "primary_grader",
    "claimed_by",
)


def visible_examination_or_404(user, exam_id):
    exams = Examination.objects.visible_to(user).select_related(*_RELATED)
    return get_object_or_404(exams, pk=exam_id)


def may_move_images(user) -> bool:
    """Data managers and admins of the examination's lab unit."""
    return sees_lab_unit_jobs(user)


def _render(request, exam, status=200, move_error=None):
    context = examination_page.page(request.user, exam, may_move_images(request.user))
    context["move_error"] = move_error or {}
    return render(request, "grading/examination.html", context, status=status)


@require_GET
@login_required
def examination(request, exam_id):
    return _render(request, visible_examination_or_404(request.user, exam_id))


@require_POST
@login_required
def move_image(request, exam_id, image_id):
    exam = visible_examination_or_404(request.user, exam_id)
    image = get_object_or_404(Image, pk=image_id, examination_link__examination=exam)
    if not may_move_images(request.user):
        raise PermissionDenied("Only data managers and admins move images between examinations.")
    try:
        target, removed = move(request.user, image, exam, request.POST.get("to", ""), request)
    except MoveRefused as e:
        return _render(request, exam, status=400, move_error={"image": image.pk, "text": str(e)})
    who = target.subject_identifier or "no subject"
    messages.success(
        request, f"Image moved to the examination of {who} on {target.visit_date:%Y-%m-%d}."
    )
    return redirect("examination", target.pk if removed else exam.pk)
