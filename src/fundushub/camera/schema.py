"""The camera API as its OpenAPI schema describes it: bodies, error shapes, limits and enums.

Kept beside the views so the wire contract (shared/spec/camera-api.md) has one description that
schemathesis checks the server against (tests/test_api_fuzzing.py).
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from fundushub.camera.models import DICOM_TYPES, FILE_TYPES, IMAGE_TYPES, ReportType
from fundushub.checks.models import Verdict
from fundushub.checks.standing import STATES

SUBJECT_IDENTIFIER_MAX = 50

SUBJECT_PARAM = OpenApiParameter(
    "subject_identifier",
    {"type": "string", "minLength": 1, "maxLength": SUBJECT_IDENTIFIER_MAX, "pattern": "^[^/]+$"},
    OpenApiParameter.PATH,
    description="The subject's identifier, e.g. 105-10-0989-3 (never contains '/').",
)
FILE_TYPE_PARAM = OpenApiParameter(
    "file_type", str, OpenApiParameter.PATH, enum=list(FILE_TYPES), description="What the file is."
)
SESSION_PARAMS = [
    OpenApiParameter(
        "session_id", OpenApiTypes.UUID, description="the session resolve returned (older clients)"
    ),
    OpenApiParameter(
        "eye_exam_register_id",
        OpenApiTypes.UUID,
        description="the same id under the newer clients' name",
    ),
]

_DETAIL = inline_serializer("Detail", {"detail": serializers.CharField()})
_ERROR = inline_serializer(
    "Error",
    {
        "code": serializers.CharField(),
        "error": serializers.CharField(),
        "errors": serializers.ListField(child=serializers.CharField(), required=False),
    },
)
UNAUTHENTICATED = OpenApiResponse(
    _DETAIL,
    description="No token, or not a valid one (header `Authorization: Token <key>`); "
    "the response carries `WWW-Authenticate: Token`.",
)
BAD_REQUEST = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description='`{"code", "error"}` for the coded refusals, `{field: [messages]}` for field '
    'errors, `{"detail"}` for a body that is not acceptable JSON (nested too deeply, numbers out '
    "of range, not JSON at all).",
)
NO_SESSION = OpenApiResponse(_ERROR, description="`no_session`: no such examination session.")
CONFLICT = OpenApiResponse(
    _ERROR, description="`filename_conflict`: another file of that name is in the session."
)
STORAGE_ERROR = OpenApiResponse(
    _ERROR, description="`storage_error`: the file could not be stored; send it again."
)

_TYPES = serializers.ListField(child=serializers.ChoiceField(choices=FILE_TYPES))
_IDS = {
    "session_id": serializers.UUIDField(),
    "eye_exam_register_id": serializers.UUIDField(help_text="the same value as session_id"),
}

# The checks at ingest (optional; the field's clients ignore keys they do not know).
_CHECK_RESULT = inline_serializer(
    "CheckResult",
    {
        "verdict": serializers.ChoiceField(
            choices=Verdict.values,
            help_text="gradability: good, usable or ungradable; the other checks: pass or "
            "flag; error: the check failed or did not run in time",
        ),
        "flagged": serializers.BooleanField(help_text="someone should look at this image"),
        "reason": serializers.CharField(
            allow_blank=True, help_text='in words, e.g. "looks blurred"'
        ),
        "version": serializers.IntegerField(help_text="the version of the check that ran"),
        "advice": serializers.CharField(
            required=False,
            help_text='for a flag: what to do at the camera, e.g. "recapture while the '
            'patient is here"',
        ),
    },
)
FILE_CHECKS = inline_serializer(
    "FileChecks",
    {
        "file_type": serializers.ChoiceField(choices=IMAGE_TYPES + DICOM_TYPES),
        "state": serializers.ChoiceField(
            choices=STATES,
            help_text="pending: stored or being stored, checks queued (they run seconds after "
            "storing, so an upload answer says pending); done: every check has a result; "
            "not_checked: no result and none coming now (reason says why)",
        ),
        "flagged": serializers.BooleanField(help_text="any result is flagged"),
        "reason": serializers.CharField(required=False, help_text="why not_checked"),
        "results": serializers.DictField(
            child=_CHECK_RESULT, help_text="by check name, as they land"
        ),
    },
    required=False,
    help_text="What the checks at ingest found on this picture (left, right, or a DICOM's "
    "preview); absent for reports.",
)

PING = inline_serializer("Ping", {"status": serializers.CharField()})
RESOLVED = inline_serializer(
    "Resolved",
    {
        "subject_identifier": serializers.CharField(max_length=SUBJECT_IDENTIFIER_MAX),
        **_IDS,
        "reactivated": serializers.BooleanField(),
        "uploaded": _TYPES,
    },
)
STORED_FILE = inline_serializer(
    "StoredFile",
    {
        "id": serializers.IntegerField(),
        **_IDS,
        "file_type": serializers.ChoiceField(choices=FILE_TYPES),
        "original_filename": serializers.CharField(),
        "stored_filename": serializers.CharField(),
        "checksum": serializers.CharField(help_text="SHA-256 of the bytes stored (hex)"),
        "checks": FILE_CHECKS,
    },
)
STATUS = inline_serializer(
    "ExaminationStatus",
    {
        **_IDS,
        "subject_identifier": serializers.CharField(max_length=SUBJECT_IDENTIFIER_MAX),
        "report_datetime": serializers.DateTimeField(),
        "report_type": serializers.ChoiceField(choices=ReportType.values),
        "uploaded": _TYPES,
        "missing": _TYPES,
        "complete": serializers.BooleanField(),
        "checks": serializers.DictField(
            child=FILE_CHECKS,
            required=False,
            help_text="the checks of each picture in the session, by its original file name",
        ),
    },
)
UPLOAD_FORM = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "the file; its part's file name becomes original_filename",
        },
        "capture_datetime": {
            "type": "string",
            "format": "date-time",
            "description": "ISO 8601; the time it was received when missing",
        },
        "checksum": {
            "type": "string",
            "maxLength": 64,
            "description": "SHA-256 of the file, hexadecimal (any case)",
        },
    },
}
