"""The camera ingestion API (/api/retinopathy/): ping, resolve, upload, status.

The wire contract with the field clients is shared/spec/camera-api.md; status codes, keys and
error codes here are that contract, not choices.
"""

import uuid

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    parser_classes,
    permission_classes,
)
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from fundushub.camera import files, image_checks, schema, sessions
from fundushub.camera.auth import DeviceTokenAuthentication, IsCameraDevice
from fundushub.camera.completeness import session_completeness, session_files
from fundushub.camera.content import matches
from fundushub.camera.errors import error, field_errors, no_session
from fundushub.camera.models import FILE_TYPES, REPORT_TYPES, CameraFile
from fundushub.lib.jsonbody import JSONBodyParser
from fundushub.store.streaming import StagingUploadHandler

MB = 1024 * 1024


def camera_api(methods, parsers=(JSONBodyParser,)):
    """The decorators every camera endpoint shares: device token auth, devices only."""

    def wrap(view):
        view = parser_classes(list(parsers))(view)
        view = permission_classes([IsCameraDevice])(view)
        view = authentication_classes([DeviceTokenAuthentication])(view)
        return api_view(methods)(view)

    return wrap


class ResolveRequest(serializers.Serializer):
    subject_identifier = serializers.CharField(min_length=1, max_length=50)
    device_id = serializers.CharField(required=False, allow_blank=True)
    site_id = serializers.CharField(required=False, allow_blank=True)
    initials = serializers.CharField(required=False, allow_blank=True)
    sex = serializers.CharField(required=False, allow_blank=True)
    age = serializers.JSONField(required=False, allow_null=True)
    report_type = serializers.CharField(required=False, allow_blank=True)


RESOLVE_KEYS = frozenset(ResolveRequest().fields)  # any other key a camera sends is ignored


def _ids(session) -> dict:
    return {"session_id": str(session.pk), "eye_exam_register_id": str(session.pk)}


def _session_param(request) -> tuple[str | None, bool]:
    """(id, valid): the session named in the query under either generation's name."""
    raw = request.query_params.get("session_id") or request.query_params.get("eye_exam_register_id")
    if not raw:
        return None, True
    try:
        return str(uuid.UUID(raw)), True
    except ValueError:
        return None, False


@extend_schema(responses={200: schema.PING, 401: schema.UNAUTHENTICATED})
@camera_api(["GET"])
def ping(request):
    return Response({"status": "ok"})


@extend_schema(
    request=ResolveRequest,
    responses={
        200: schema.RESOLVED,
        400: schema.BAD_REQUEST,
        401: schema.UNAUTHENTICATED,
        404: schema.NO_SESSION,
    },
)
@camera_api(["POST"])
def resolve(request):
    if not isinstance(request.data, dict):
        return field_errors({"non_field_errors": ["Send a JSON object."]})
    data = {k: v for k, v in request.data.items() if k in RESOLVE_KEYS}
    for key in ("device_id", "site_id", "initials", "sex", "report_type"):
        if data.get(key) is not None and not isinstance(data[key], str):
            data[key] = str(data[key])  # cameras send codes as numbers too
    form = ResolveRequest(data=data)
    if not form.is_valid():
        return field_errors(form.errors)
    result = sessions.resolve(request.auth, {**data, **form.validated_data})
    if result.session is None:
        return error(result.status, result.code, result.message, result.errors)
    state = session_completeness(result.session)
    return Response(
        {
            "subject_identifier": result.session.subject.subject_identifier,
            **_ids(result.session),
            "reactivated": result.reactivated,
            "uploaded": state["uploaded"],
        }
    )


def _file_body(record: CameraFile) -> dict:
    body = {
        "id": record.pk,
        **_ids(record.session),
        "file_type": record.file_type,
        "original_filename": record.original_filename,
        "stored_filename": record.stored_filename,
        "checksum": record.sha256,
    }
    checks = image_checks.file_checks(record)  # a picture's; older clients ignore the key
    if checks is not None:
        body["checks"] = checks
    return body


def _upload_field_errors(request, staged) -> dict:
    errors = {}
    if staged is None:
        errors["file"] = ["No file was submitted."]
    elif staged.rejection == "No selected file":
        errors["file"] = ["The submitted file is empty."]
    raw_time = request.data.get("capture_datetime")
    if raw_time and _capture_time(raw_time) is None:
        errors["capture_datetime"] = [
            "Datetime has wrong format. Use ISO 8601, e.g. 2026-11-21T10:00:00+00:00."
        ]
    if len(request.data.get("checksum") or "") > 64:
        errors["checksum"] = ["Ensure this field has no more than 64 characters."]
    return errors


def _capture_time(raw: str):
    try:
        value = parse_datetime(raw.strip())
    except ValueError:
        return None
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_current_timezone())
    return value


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # a malformed header is the parser's problem, not a 500


def _too_large():
    limit = settings.CAMERA_MAX_UPLOAD_MB
    return error(400, "file_too_large", f"The file is larger than the {limit} MB limit.")


@extend_schema(
    request={"multipart/form-data": schema.UPLOAD_FORM},
    parameters=[schema.SUBJECT_PARAM, schema.FILE_TYPE_PARAM, *schema.SESSION_PARAMS],
    responses={
        200: schema.STORED_FILE,
        201: schema.STORED_FILE,
        400: schema.BAD_REQUEST,
        401: schema.UNAUTHENTICATED,
        404: schema.NO_SESSION,
        409: schema.CONFLICT,
        500: schema.STORAGE_ERROR,
    },
)
@camera_api(["POST"], parsers=(MultiPartParser,))
def upload(request, subject_identifier, file_type):
    if file_type not in FILE_TYPES:
        return error(
            400,
            "invalid_file_type",
            f"Unknown file type {file_type!r}; use one of {', '.join(FILE_TYPES)}.",
        )
    limit = settings.CAMERA_MAX_UPLOAD_MB
    if _content_length(request) > limit * MB + 64 * 1024:
        return _too_large()  # refused before a byte of the body is read
    handler = StagingUploadHandler(request._request, limit, 1)
    request._request.upload_handlers = [handler]
    try:
        received = request.FILES.getlist("file")
        if len(received) > 1:
            return field_errors({"file": ["Send one file per request."]})
        return _store_upload(
            request, subject_identifier, file_type, received[0] if received else None
        )
    finally:
        handler.discard_unkept()  # whatever was staged and not stored, however the request ended


def _store_upload(request, subject_identifier, file_type, staged):
    errors = _upload_field_errors(request, staged)
    if errors:
        return field_errors(errors)
    if staged.rejection:
        return _too_large()
    if not matches(file_type, staged.mime, staged.head):
        return error(
            400,
            "invalid_content",
            f"The file's content ({staged.mime}) is not valid for {file_type}.",
        )
    session_id, valid = _session_param(request)
    session = valid and sessions.current_session(
        request.auth, subject_identifier, session_id, fallback_newest=False
    )
    if not session:
        return no_session()
    outcome = files.existing_outcome(session, staged)
    checksum = (request.data.get("checksum") or "").strip().lower()
    if outcome is None and checksum and checksum != staged.sha256:
        return error(
            400,
            "checksum_mismatch",
            "The checksum sent does not match the SHA-256 of the bytes received; nothing was kept.",
        )
    if outcome is None:
        capture = _capture_time(request.data.get("capture_datetime") or "") or timezone.now()
        try:
            outcome = files.store(session, request.auth, file_type, staged, capture)
        except files.StorageError:
            return error(500, "storage_error", "The file could not be stored; send it again.")
    result, record = outcome
    if result == files.CONFLICT:
        return error(
            409,
            "filename_conflict",
            f"A different file named {staged.name!r} is already stored in this session.",
        )
    return Response(_file_body(record), status=201 if result == files.STORED else 200)


@extend_schema(
    parameters=[schema.SUBJECT_PARAM, *schema.SESSION_PARAMS],
    responses={200: schema.STATUS, 401: schema.UNAUTHENTICATED, 404: schema.NO_SESSION},
)
@camera_api(["GET"])
def status(request, subject_identifier):
    session_id, valid = _session_param(request)
    session = valid and sessions.current_session(
        request.auth, subject_identifier, session_id, fallback_newest=True
    )
    if not session:
        return no_session()
    files = session_files(session)
    state = session_completeness(session, files)
    reports = [f for f in files if f.file_type in REPORT_TYPES]
    newest = max(reports, key=lambda f: f.capture_datetime) if reports else None
    report_time = newest.capture_datetime if newest else session.created_at
    return Response(
        {
            **_ids(session),
            # the session was found by exactly this identifier: no need to load the subject
            "subject_identifier": subject_identifier,
            "report_datetime": report_time.isoformat(),
            **state,
            # What the checks at ingest found on each picture; older clients ignore the key.
            "checks": image_checks.session_checks(image_checks.picture_files(session)),
        }
    )
