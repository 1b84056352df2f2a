"""Resolving a subject to an examination session, in either server behaviour.

session mode (default): the subject must be registered; demographics sent are checked; the
newest incomplete session within the reactivation window is reused, else a new one is made.
register mode: staff create sessions beforehand; resolve returns the newest session that is
neither complete nor contraindicated, and never creates one.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from fundushub.camera.completeness import session_completeness
from fundushub.camera.models import CameraSession, ReportType, Subject
from fundushub.lib.prepared import PreparedQuery

SESSION_MODE, REGISTER_MODE = "session", "register"

_IDENTIFIER_MAX_LENGTH = Subject._meta.get_field("subject_identifier").max_length


def _sessions(identifier, hospital):
    return CameraSession.objects.filter(
        subject__subject_identifier=identifier, hospital_id=hospital
    ).order_by()


# The lookups every camera request makes, compiled once (see fundushub.lib.prepared).
_WHERE = {"identifier": "subject__subject_identifier", "hospital": "hospital"}
SUBJECT = PreparedQuery(
    Subject,
    lambda identifier, hospital: Subject.objects.filter(
        subject_identifier=identifier, site_id=hospital
    ).order_by()[:1],
    identifier="subject_identifier",
    hospital="site",
)
SESSION_BY_ID = PreparedQuery(
    CameraSession,
    lambda identifier, hospital, pk: _sessions(identifier, hospital).filter(pk=pk)[:1],
    pk="pk",
    **_WHERE,
)
LAST_RESOLVED = PreparedQuery(
    CameraSession,
    lambda identifier, hospital: (
        _sessions(identifier, hospital)
        .exclude(last_resolved_at=None)
        .order_by("-last_resolved_at")[:1]
    ),
    **_WHERE,
)
NEWEST = PreparedQuery(
    CameraSession,
    lambda identifier, hospital: _sessions(identifier, hospital).order_by("-created_at")[:1],
    **_WHERE,
)
CREATED_SINCE = PreparedQuery(
    CameraSession,
    lambda identifier, hospital, since: (
        _sessions(identifier, hospital).filter(created_at__gte=since).order_by("-created_at")
    ),
    since="created_at",
    **_WHERE,
)


@dataclass
class Resolution:
    session: CameraSession | None = None
    reactivated: bool = False
    code: str = ""
    message: str = ""
    status: int = 200
    errors: list = field(default_factory=list)


def subject_for(device, subject_identifier: str) -> Subject | None:
    """A device sees only its own hospital's subjects; others are indistinguishable from unknown."""
    return SUBJECT.first(identifier=subject_identifier, hospital=device.hospital_id)


def sessions_for(device, subject_identifier: str):
    return _sessions(subject_identifier, device.hospital_id)


def current_session(device, subject_identifier: str, session_id: str | None, fallback_newest: bool):
    """The session named by id, else the one resolve last returned, else (for status) the newest."""
    if "\x00" in subject_identifier or len(subject_identifier) > _IDENTIFIER_MAX_LENGTH:
        return None  # no subject has such an identifier (and PostgreSQL refuses NUL outright)
    where = {"identifier": subject_identifier, "hospital": device.hospital_id}
    if session_id:
        return SESSION_BY_ID.first(pk=session_id, **where)
    last = LAST_RESOLVED.first(**where)
    if last is None and fallback_newest:
        last = NEWEST.first(**where)
    return last


def _mismatches(subject: Subject, sent: dict) -> list[str]:
    errors = []
    initials = str(sent.get("initials") or "").strip()
    if initials and initials.upper() != subject.initials.upper():
        errors.append("initials do not match the registered subject")
    sex = str(sent.get("sex") or "").strip()
    if sex and sex.upper() != subject.sex.upper():
        errors.append("sex does not match the registered subject")
    age = _number(sent.get("age"))
    expected = subject.age_on(timezone.localdate())
    if age is not None and expected is not None and abs(age - expected) > 1:
        errors.append(f"age {age:g} does not match the registered subject (±1 year)")
    return errors


def _number(value) -> float | None:
    """Cameras send age as a number or as text; text that is not a number is not checked."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _is_open(session) -> bool:
    return not session.contraindicated and not session_completeness(session)["complete"]


def resolve(device, data: dict) -> Resolution:
    identifier = data["subject_identifier"]
    if settings.CAMERA_API_MODE == REGISTER_MODE:
        result = _resolve_register(device, identifier)
    else:
        result = _resolve_session(device, identifier, data)
    if result.session is not None:
        CameraSession.objects.filter(pk=result.session.pk).update(last_resolved_at=timezone.now())
    return result


def _resolve_register(device, identifier: str) -> Resolution:
    sessions = list(sessions_for(device, identifier).order_by("-created_at"))
    if not sessions:
        return Resolution(
            code="no_session",
            status=404,
            message=f"No examination is registered for subject {identifier}.",
        )
    for session in sessions:
        if _is_open(session):
            return Resolution(session=session)
    return Resolution(
        code="no_eligible_session",
        status=400,
        message=f"Every examination registered for subject {identifier} is complete or "
        "contraindicated; register a new one to upload more images.",
    )


def _resolve_session(device, identifier: str, data: dict) -> Resolution:
    subject = subject_for(device, identifier)
    if subject is None:
        return Resolution(
            code="subject_not_found",
            status=400,
            message=f"Subject {identifier} is not in the subject registry.",
        )
    errors = _mismatches(subject, data)
    if errors:
        return Resolution(
            code="validation_mismatch",
            status=400,
            message="The demographics sent do not match the registered subject.",
            errors=errors,
        )
    window = timezone.now() - timedelta(hours=settings.CAMERA_REACTIVATION_HOURS)
    recent = CREATED_SINCE.all(identifier=identifier, hospital=device.hospital_id, since=window)
    for session in recent:
        if not session_completeness(session)["complete"]:
            return Resolution(session=session, reactivated=True)
    report_type = data.get("report_type")
    if report_type not in ReportType.values:
        report_type = device.report_type
    sent = {k: data[k] for k in ("device_id", "site_id", "initials", "sex", "age") if k in data}
    session = CameraSession.objects.create(
        subject=subject,
        hospital_id=device.hospital_id,
        device=device,
        report_type=report_type,
        sent=sent,
    )
    return Resolution(session=session)
