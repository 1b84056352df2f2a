"""Is an examination complete? Groups of file types, any member of a group satisfies it."""

from fundushub.camera.models import CameraFile, ReportType
from fundushub.lib.prepared import PreparedQuery

GROUPS = {
    ReportType.COMBINED: [("left_dicom", "left"), ("right_dicom", "right"), ("report",)],
    ReportType.PER_EYE: [
        ("left_dicom", "left"),
        ("right_dicom", "right"),
        ("left_report",),
        ("right_report",),
    ],
}


def judged_report_type(configured: str, uploaded: set[str]) -> str:
    """The files decide when they can: per-eye reports without a combined one mean per_eye."""
    if "report" in uploaded:
        return ReportType.COMBINED
    if uploaded & {"left_report", "right_report"}:
        return ReportType.PER_EYE
    return configured


def completeness(configured: str, uploaded: set[str]) -> dict:
    report_type = judged_report_type(configured, uploaded)
    missing = [group[0] for group in GROUPS[report_type] if not uploaded.intersection(group)]
    return {
        "report_type": report_type,
        "uploaded": sorted(uploaded),
        "missing": sorted(missing),
        "complete": not missing,
    }


# Asked on every resolve and status: compiled once (see fundushub.lib.prepared).
SESSION_FILES = PreparedQuery(
    CameraFile,
    lambda session: (
        CameraFile.objects.filter(session_id=session)
        .order_by()
        .only("id", "file_type", "capture_datetime")
    ),
    session="session",
)


def session_files(session) -> list[CameraFile]:
    """The session's files, with only their type and capture time loaded."""
    return SESSION_FILES.all(session=session.pk)


def session_completeness(session, files: list[CameraFile] | None = None) -> dict:
    files = session_files(session) if files is None else files
    return completeness(session.report_type, {f.file_type for f in files})
