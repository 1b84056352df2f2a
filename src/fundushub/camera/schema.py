"""The camera API as its OpenAPI schema describes it: bodies, error shapes, limits and enums.

Kept beside the views so the wire contract (shared/spec/camera-api.md) has one description that
schemathesis checks the server against (tests/test_api_fuzzing.py).
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from fundushub.camera.models import FILE_TYPES, ReportType

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
