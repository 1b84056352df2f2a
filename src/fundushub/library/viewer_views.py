"""The image viewer page (image with zoom and pan, details, grades, history) and grading."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from fundushub.accounts.roles import can_download_original, can_grade, can_manage_image
from fundushub.checks.summary import panel_for
from fundushub.grading.grades import GradeRefused, record_grade
from fundushub.grading.models import Examination
from fundushub.grading.scales import scale_for
from fundushub.library.browsing import browsing_for
from fundushub.library.history import history_for
from fundushub.library.variants import LOCKED
from fundushub.store.access import visible_image_or_404
from fundushub.store.titles import add_capture_times

_RELATED = ("hospital", "lab_unit", "camera", "disease", "area", "uploaded_by", "edited_by")


def _page(request, image, status=200, form=None, error=""):
    browsing = browsing_for(request.user, image, request.GET)
    add_capture_times([image])
    # The version asked for; without a choice, the one the dashboard was showing.
    asked = request.GET.get("variant") or ("edited" if browsing.show_edited else "")
    edited = asked == "edited" and image.has_edit
    grades = image.grades.select_related("graded_by", "disease").order_by("-revision")
    context = {
        "image": image,
        "variant": "edited" if edited else "original",
        "grades": list(grades),
        "history": history_for(image),
        "scale": scale_for(image.disease),
        "may_grade": can_grade(request.user),
        "may_manage": can_manage_image(request.user, image),
        "may_download_original": can_download_original(request.user),
        "locked_reason": LOCKED,
        "form": form or {},
        "grade_error": error,
        "browsing": browsing,
        # What the checks at ingest found (a near-duplicate's twin only if this user sees it).
        "checks": panel_for(image, request.user),
        # The visit this image was filed in (its page shows both eyes, gradings and reports).
        "examination": Examination.objects.visible_to(request.user)
        .filter(image_links__image=image)
        .first(),
    }
    return render(request, "library/viewer.html", context, status=status)


@require_GET
@login_required
def viewer(request, image_id):
    return _page(request, visible_image_or_404(request.user, image_id, *_RELATED))


@require_POST
@login_required
def grade(request, image_id):
    image = visible_image_or_404(request.user, image_id, *_RELATED)
    if not can_grade(request.user):
        raise PermissionDenied("Only graders may record grades.")
    code, notes = request.POST.get("grade", ""), request.POST.get("notes", "")
    try:
        recorded = record_grade(image, code, notes, request.user, request=request)
    except GradeRefused as e:
        form = {"grade": code, "notes": notes}
        return _page(request, image, status=e.status, form=form, error=str(e))
    messages.success(
        request,
        f"Grade recorded: {recorded.grade} – {recorded.label} (revision {recorded.revision}).",
    )
    viewer = reverse("image-viewer", args=[image.id])
    return redirect(f"{viewer}?{request.GET.urlencode()}" if request.GET else viewer)
