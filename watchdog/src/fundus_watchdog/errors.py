"""Errors from the camera API, read from any of its three body shapes, and what each one means.

Shapes: {"code": ..., "error": ...} (camera API), {"detail": ...} (authentication, throttling),
{"field": ["message", ...]} (validation). What to do about an error depends on its kind:
transient ones are retried with backoff, permanent per-file ones are never retried in a loop,
`no_eligible_session` ends the folder in rejected/, everything else waits for the next attempt.
"""

import email.utils
import time
from urllib.parse import urlsplit

PERMANENT_FILE_CODES = {
    "filename_conflict",
    "invalid_content",
    "file_too_large",
    "invalid_file_type",
}
TRANSIENT_STATUSES = {408, 425, 429, 500, 502, 503, 504}


class Stopped(Exception):
    """The watchdog is shutting down; abandon the current step (it resumes on the next start)."""


class ApiError(Exception):
    def __init__(
        self, message, *, status=None, code=None, errors=None, retry_after=None, url="", hint=""
    ):
        super().__init__(message)
        self.message = message
        # None: no HTTP answer at all (timeout, refused connection, DNS); 0: the request could
        # not even be made (an invalid URL); then `message` says why and `hint` what to check.
        self.status = status
        self.code = code
        self.errors = errors
        self.retry_after = retry_after
        self.url = url
        self.hint = hint

    @property
    def transient(self) -> bool:
        return self.status is None or self.status in TRANSIENT_STATUSES or self.status >= 500

    @property
    def permanent_for_file(self) -> bool:
        """Sending the same bytes again would fail the same way."""
        if self.code in PERMANENT_FILE_CODES or self.status == 413:
            return True
        return self.status == 400 and self.code is None  # field errors, e.g. an empty file

    def __str__(self):
        if not self.status:
            return f"cannot reach the server at {self.server}: {self.message}"
        return f"{self.message} (HTTP {self.status}{', ' + self.code if self.code else ''})"

    @property
    def server(self) -> str:
        parts = urlsplit(self.url or "")
        return f"{parts.scheme}://{parts.netloc}" if parts.netloc else "its address"

    @classmethod
    def from_response(cls, response) -> "ApiError":
        try:
            body = response.json()
        except ValueError:
            body = None
        code, errors = None, None
        if isinstance(body, dict) and ("code" in body or "error" in body):
            code = body.get("code")
            message = str(body.get("error") or body.get("detail") or code)
            errors = body.get("errors")
        elif isinstance(body, dict) and "detail" in body:
            message = str(body["detail"])
        elif isinstance(body, dict) and body:
            errors = body
            message = "; ".join(
                f"{k}: {' '.join(map(str, v)) if isinstance(v, list) else v}"
                for k, v in body.items()
            )
        else:
            text = (response.text or "").strip().replace("\n", " ")
            message = (
                text[:200]
                if text and not text.lstrip().startswith("<")
                else response.reason or "error"
            )
        if response.status_code == 401:
            code = code or "unauthorized"
        return cls(
            message,
            status=response.status_code,
            code=code,
            errors=errors,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            url=response.url,
        )


def parse_retry_after(value, now=None) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def advice(error: ApiError, subject: str, api_url: str) -> str:
    """One sentence an operator can act on (the README lists the same messages)."""
    code, status = error.code, error.status
    if not status:
        hint = error.hint or "check the network and api_url"
        return f"cannot reach the server at {api_url}: {error.message}; {hint}"
    if code == "unauthorized" or status == 401:
        return f"the server rejected the token ({error.message}); check token / {'FUNDUS_CAMERA_WATCHDOG_TOKEN'}"
    if status == 403:
        return f"the token's user may not upload for subject {subject} ({error.message}); ask the server admin"
    if code == "subject_not_found":
        return f"subject {subject} is not registered on the server; register it (or fix the folder name)"
    if code == "validation_mismatch":
        details = (
            "; ".join(map(str, error.errors))
            if isinstance(error.errors, list)
            else error.errors or ""
        )
        return (
            f"the camera's demographics for {subject} do not match the server's registry ({details or error.message});"
            " correct them in the camera or on the server"
        )
    if code == "no_session":
        return f"the server has no examination for subject {subject}; create one on the server ({error.message})"
    if code == "no_eligible_session":
        return (
            f"every examination of subject {subject} on the server is complete or contraindicated;"
            " staff must open a new one on the server, then move the folder back into the watch folder"
        )
    if code == "filename_conflict":
        return "the server already has a different file with this name in this examination (changed after upload?)"
    if code == "invalid_content":
        return f"the server says the file's content does not match its type ({error.message})"
    if code == "file_too_large" or status == 413:
        return f"the file is larger than the server accepts ({error.message})"
    if code == "checksum_mismatch":
        return "the bytes the server received differ from the file (changed while uploading?); it is sent again"
    if status == 404:
        return f"no camera API at {api_url} ({error.message}); check api_url"
    if status == 429:
        return "the server asks us to slow down (HTTP 429); waiting as it says"
    if error.transient:
        return f"the server had a problem ({error}); retrying later"
    return str(error)
