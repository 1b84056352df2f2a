"""The camera's answer to "which reports came with this examination?" (grading/reports.py), and
who may open a report: the users of the lab unit whose camera sent it."""

from django.db.models import Q
from django.urls import reverse

from fundushub.camera.models import REPORT_TYPES, CameraFile
from fundushub.grading.reports import Report

NAMES = {
    "report": "Report (both eyes)",
    "left_report": "Report, left eye",
    "right_report": "Report, right eye",
}


def reports_of(examination) -> list[Report]:
    """The reports of every camera session that sent one of the examination's images."""
    sessions = CameraFile.objects.filter(
        image__examination_link__examination_id=examination.pk
    ).values("session_id")
    files = CameraFile.objects.filter(session_id__in=sessions, file_type__in=REPORT_TYPES)
    return [
        Report(
            name=NAMES.get(f.file_type, f.file_type),
            url=reverse("camera:report", args=[f.pk]),
            filename=f.original_filename,
            received_at=f.received_at,
        )
        for f in files.order_by("received_at", "pk")
    ]


def visible_reports(user):
    """Reports sent by a camera of one of the user's lab units (the file's own device, or its
    session's when the file names none)."""
    if not user.is_authenticated:
        return CameraFile.objects.none()
    units = user.lab_units.values("pk")
    return CameraFile.objects.filter(file_type__in=REPORT_TYPES).filter(
        Q(device__lab_unit__in=units) | Q(device=None, session__device__lab_unit__in=units)
    )
