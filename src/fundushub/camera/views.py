"""Staff pages: camera sessions with their completeness, and one session's files."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from fundushub.accounts.roles import sees_lab_unit_jobs
from fundushub.camera.completeness import completeness
from fundushub.camera.models import CameraSession

PAGE_SIZE = 100


def visible_sessions(user):
    """Sessions of the hospitals where the user is assigned a lab unit."""
    if not (user.is_staff or sees_lab_unit_jobs(user)):
        raise PermissionDenied
    hospitals = user.lab_units.values("hospital_id")
    return CameraSession.objects.filter(hospital_id__in=hospitals)


def _with_state(session):
    session.state = completeness(session.report_type, {f.file_type for f in session.files.all()})
    return session


@require_GET
@login_required
def session_list(request):
    sessions = (
        visible_sessions(request.user)
        .select_related("subject", "device", "hospital")
        .prefetch_related("files")
        .order_by("-created_at")[:PAGE_SIZE]
    )
    rows = [_with_state(s) for s in sessions]
    return render(request, "camera/sessions.html", {"sessions": rows, "limit": PAGE_SIZE})


@require_GET
@login_required
def session_detail(request, session_id):
    session = get_object_or_404(
        visible_sessions(request.user).select_related("subject", "device", "hospital"),
        pk=session_id,
    )
    files = list(session.files.select_related("image").order_by("file_type", "received_at"))
    _with_state(session)
    return render(request, "camera/session.html", {"session": session, "files": files})
