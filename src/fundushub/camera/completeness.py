"""Is an examination complete? Groups of file types, any member of a group satisfies it."""

from fundushub.camera.models import ReportType

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


def session_completeness(session) -> dict:
    uploaded = set(session.files.values_list("file_type", flat=True))
    return completeness(session.report_type, uploaded)
