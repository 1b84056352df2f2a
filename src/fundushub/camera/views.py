"""Staff pages: camera sessions with their completeness, one session's files, and opening a
session's report or DICOM (served inert: nothing in a camera's file can run on our origin); and
a report for the users of its lab unit, as the examination page links it."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from fundushub.accounts.roles import sees_lab_unit_jobs
from fundushub.audit.models import record
from fundushub.camera.completeness import completeness
from fundushub.camera.content import is_html
from fundushub.camera.exam_reports import visible_reports
from fundushub.camera.models import DICOM_TYPES, CameraSession
from fundushub.lib.downloads import download_name, inert, readable_base
from fundushub.store import blobs
from fundushub.store.titles import title_of

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
    files = list(session.files.select_related("image__area").order_by("file_type", "received_at"))
    for f in files:
        if f.image is not None:
            # Named as everywhere else: subject · eye · day of capture, not the camera's UUID.
            f.title = title_of(
                "camera",
                f.original_filename,
                session.subject.subject_identifier,
                f.image.area.name if f.image.area_id else "",
                f.capture_datetime,
            )
    _with_state(session)
    return render(request, "camera/session.html", {"session": session, "files": files})


def _served_type(record, head: bytes) -> tuple[str, bool]:
    """(content type, inline?): an HTML report opens in the browser, sandboxed; a PDF or DICOM
    is downloaded (a browser's PDF viewer does not run under a sandboxing policy)."""
    if record.file_type in DICOM_TYPES:
        return "application/dicom", False
    if head.startswith(b"%PDF-"):
        return "application/pdf", False
    if is_html(head):
        return "text/html", True
    return "application/octet-stream", False


@require_GET
@login_required
def session_file(request, session_id, file_id):
    session = get_object_or_404(visible_sessions(request.user), pk=session_id)
    return _serve(request, get_object_or_404(session.files, pk=file_id))


@require_GET
@login_required
def report_file(request, file_id):
    """A report, for every user of the lab unit whose camera sent it (graders included: the
    examination page links here); outside that scope it does not exist."""
    return _serve(request, get_object_or_404(visible_reports(request.user), pk=file_id))


def _serve(request, camera_file):
    handle = blobs.open_blob(blobs.original_key(camera_file.sha256))
    head = handle.read(1024)
    handle.seek(0)
    content_type, inline = _served_type(camera_file, head)
    name = download_name(readable_base(camera_file.original_filename, "report"), content_type)
    response = FileResponse(
        handle,
        as_attachment=not inline,
        filename=name,
        content_type=content_type,
    )
    response["Cache-Control"] = "private, no-cache"
    record(
        "camera.file_opened",
        request=request,
        obj=camera_file,
        session=str(camera_file.session_id),
        file_type=camera_file.file_type,
    )
    return inert(response)
