"""How large a request body each URL may send, and the answer when it is larger.

The direct upload takes its files (DIRECT_UPLOAD_MAX_FILES × DIRECT_UPLOAD_MAX_FILE_SIZE_MB, or an
admin's runtime values) and a margin for the form; the camera upload one file
(FUNDUSHUB_CAMERA_MAX_UPLOAD_MB) and a margin; every other URL what Django itself accepts in a
form (DATA_UPLOAD_MAX_MEMORY_SIZE). Used by fundushub.lib.bodylimit in front of every server.
"""

import json
import time
from functools import lru_cache

from django.conf import settings
from django.core.handlers.wsgi import get_path_info
from django.db import DatabaseError
from django.urls import Resolver404, resolve

from fundushub.lib.bodylimit import Cap

MB = 1024 * 1024
CAMERA_MARGIN = 64 * 1024  # the form fields beside the file (the camera view uses the same)
PART_MARGIN = 8 * 1024  # one file part's headers (a 255-character name, percent-encoded)
LIMITS_TTL = 5.0  # seconds an admin's new limits may take to apply here
_limits = (0.0, None)


def _default_cap() -> int:
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440  # Django's default when unset


def _upload_limits():
    """The direct-upload limits in force, read at most every LIMITS_TTL seconds."""
    global _limits
    expires, limits = _limits
    if limits is None or time.monotonic() > expires:
        from fundushub.accounts.limits import Limits, current_limits

        try:
            limits = current_limits()
        except DatabaseError:  # the request will fail anyway; do not refuse it for that
            limits = limits or Limits(
                settings.DIRECT_UPLOAD_MAX_FILE_SIZE_MB, settings.DIRECT_UPLOAD_MAX_FILES, 0
            )
        _limits = (time.monotonic() + LIMITS_TTL, limits)
    return limits


def direct_upload_cap(limits) -> int:
    return limits.max_files * (limits.max_file_size + PART_MARGIN) + _default_cap()


def camera_upload_cap() -> int:
    return settings.CAMERA_MAX_UPLOAD_MB * MB + CAMERA_MARGIN


def largest_cap() -> int:
    """The most any URL accepts now (waitress's own ceiling)."""
    return max(direct_upload_cap(_upload_limits()), camera_upload_cap(), _default_cap())


def _answer(environ, status: str, body: dict, plain: str):
    wants_json = environ.get("PATH_INFO", "").startswith("/api/") or "application/json" in (
        environ.get("HTTP_ACCEPT") or ""
    )
    if wants_json:
        return status, [("Content-Type", "application/json")], json.dumps(body).encode()
    return status, [("Content-Type", "text/plain; charset=utf-8")], plain.encode()


def _too_large(cap: int):
    message = f"The request is too large for this address (at most {_size(cap)})."
    return lambda environ: _answer(
        environ, "413 Content Too Large", {"code": "too_large", "error": message}, message
    )


def _upload_too_large(limits):
    message = (
        f"The upload is too large: send at most {limits.max_files} files of at most "
        f"{limits.max_file_size_mb} MB each at once. Nothing was stored."
    )
    return lambda environ: _answer(environ, "413 Content Too Large", {"error": message}, message)


def _camera_file_too_large(environ):
    # The camera API's contract (shared/spec/camera-api.md): 400 file_too_large.
    limit = settings.CAMERA_MAX_UPLOAD_MB
    body = {"code": "file_too_large", "error": f"The file is larger than the {limit} MB limit."}
    return "400 Bad Request", [("Content-Type", "application/json")], json.dumps(body).encode()


def _size(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB else f"{n // 1024} kB"


@lru_cache(maxsize=4096)
def _view_name(path: str) -> str:
    # Resolving is not free, and a camera sends several files to the same URL in a row.
    try:
        return resolve(path).view_name
    except Resolver404:
        return ""


def cap_for(environ) -> Cap:
    """The URL's cap: the view Django's URL conf sends the request to decides."""
    view = _view_name(get_path_info(environ))
    if view == "upload":
        limits = _upload_limits()
        return Cap(direct_upload_cap(limits), _upload_too_large(limits))
    if view == "camera:upload":
        return Cap(camera_upload_cap(), _camera_file_too_large)
    return Cap(_default_cap(), _too_large(_default_cap()))
