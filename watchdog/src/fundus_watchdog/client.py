"""The camera API client (`{api_url}/api/retinopathy/...`), for both server generations.

The older server names the session `session_id` (an integer or a string), the newer one
`eye_exam_register_id`; we read either and send the id back under both query parameter names
(each server ignores the one it does not know). Every call is retried on timeouts, connection
errors, 5xx and 429, with exponential backoff and jitter, waiting at least what `Retry-After` asks.
"""

import hashlib
import logging
import random
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import requests
from requests.exceptions import ChunkedEncodingError

from . import __version__
from .errors import ApiError, Stopped
from .multipart import MultipartFile
from .paths import long_path
from .unreachable import explain

log = logging.getLogger(__name__)

CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".dcm": "application/dicom",
    ".html": "text/html",
    ".htm": "text/html",
    ".pdf": "application/pdf",
}


@dataclass
class Session:
    id: str
    reactivated: bool
    uploaded: list[str] | None  # None when the server did not say


@dataclass
class Status:
    complete: bool
    uploaded: list[str]
    missing: list[str]
    report_type: str | None
    session_id: str | None = None  # the session/register the answer describes, if it says
    # Our server's checks at ingest, by file name (image_checks.py); {} from servers without them.
    checks: dict = field(default_factory=dict)

    def describes_another_than(self, session_id: str) -> bool:
        """The answer names a session other than `session_id` (edc-retinopathy 1.4.0 answers for
        a subject's newest register, whichever one the request names)."""
        return self.session_id is not None and not same_session(self.session_id, session_id)


def sha256_of(path: Path, block: int = 1024 * 1024) -> str:
    """Lower-case hex SHA-256, read in blocks (a DICOM can be large)."""
    digest = hashlib.sha256()
    with open(long_path(path), "rb") as f:
        while chunk := f.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def capture_datetime(path: Path) -> str:
    """When the camera wrote the file (its modification time), ISO-8601 with the local offset."""
    return datetime.fromtimestamp(path.stat().st_mtime).astimezone().isoformat(timespec="seconds")


def same_session(a, b) -> bool:
    """Ids as either server writes them: integers or UUID strings, in any case."""
    return a is not None and b is not None and str(a).strip().lower() == str(b).strip().lower()


def answered_session(body: dict) -> str | None:
    """The session id an answer names, under either generation's key."""
    value = body.get("eye_exam_register_id", body.get("session_id"))
    return None if value in (None, "") else str(value)


def session_params(session_id: str | None) -> dict:
    return {"session_id": session_id, "eye_exam_register_id": session_id} if session_id else {}


class CameraApi:
    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        timeout=60.0,
        retries=3,
        retry_delay=5.0,
        max_retry_delay=60.0,
        stop_event: threading.Event | None = None,
    ):
        self.base = api_url.rstrip("/") + "/api/retinopathy/"
        self.api_url = api_url
        self.token = token
        self.timeout = timeout
        self.retries = max(1, retries)
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.stop_event = stop_event or threading.Event()
        self._local = (
            threading.local()
        )  # one requests.Session per thread: Sessions are not thread-safe
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

    def close(self) -> None:
        with self._sessions_lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()
        self._local = threading.local()

    def _http(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers.update(
                {
                    "Authorization": f"Token {self.token}",
                    "User-Agent": f"fundus-watchdog/{__version__}",
                }
            )
            with self._sessions_lock:
                self._sessions.append(session)
            self._local.session = session
        return session

    def backoff(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before attempt `attempt + 1`: doubling from retry_delay, +/-20% jitter, capped;
        never shorter than the server's Retry-After."""
        delay = min(self.max_retry_delay, self.retry_delay * 2 ** (attempt - 1)) * random.uniform(
            0.8, 1.2
        )
        return max(delay, retry_after or 0.0)

    def _request(
        self,
        method: str,
        path: str,
        *,
        params=None,
        json=None,
        body_factory=None,
        ok=(200, 201),
        retries=None,
        timeout=None,
    ) -> requests.Response:
        url = self.base + path
        retries = retries or self.retries
        for attempt in range(1, retries + 1):
            if self.stop_event.is_set():
                raise Stopped()
            answer = self._attempt(method, url, params, json, body_factory, ok, timeout)
            if not isinstance(answer, ApiError):
                return answer
            error = answer
            if not error.transient:
                raise error
            if attempt == retries:
                raise error
            delay = self.backoff(attempt, error.retry_after)
            if delay > self.max_retry_delay * 5:
                raise error  # the server asks for a long pause: the subject is retried later
            log.info(
                "%s %s: %s; attempt %d of %d in %.1f s",
                method,
                path,
                error,
                attempt + 1,
                retries,
                delay,
            )
            if self.stop_event.wait(delay):
                raise Stopped()
        raise AssertionError("unreachable")

    def _attempt(
        self, method, url, params, json, body_factory, ok, timeout=None
    ) -> requests.Response | ApiError:
        """One try: the response when its status is in `ok`, else the error it ended in (which
        _request may retry). A transport error no retry can cure is raised at once."""
        body = body_factory() if body_factory else None
        try:
            headers = {"Content-Type": body.content_type} if body is not None else None
            response = self._http().request(
                method,
                url,
                params=params,
                json=json,
                data=body,
                headers=headers,
                timeout=timeout or self.timeout,
            )
        except requests.RequestException as exc:
            return self._transport_error(exc, url, timeout or self.timeout)
        else:
            if response.status_code in ok:
                return response
            return ApiError.from_response(response)
        finally:
            if body is not None:
                body.close()

    def _transport_error(
        self, exc: requests.RequestException, url: str, timeout: float | None = None
    ) -> ApiError:
        """The request got no answer: said plainly (refused, timed out, DNS, TLS...), never in
        requests' own wording. Returned when a retry may help, raised when none can."""
        reason, hint = explain(exc, timeout or self.timeout)
        retry = isinstance(exc, (requests.ConnectionError, requests.Timeout, ChunkedEncodingError))
        error = ApiError(reason, status=None if retry else 0, url=url, hint=hint)
        error.__cause__ = exc
        if not retry:
            raise error from exc
        return error

    def ping(self, retries: int | None = None) -> dict:
        return _json(self._request("GET", "ping/", ok=(200,), retries=retries))

    def resolve(self, subject_identifier: str, **fields) -> Session:
        payload = {"subject_identifier": subject_identifier}
        payload.update({k: v for k, v in fields.items() if v not in (None, "")})
        body = _json(self._request("POST", "resolve/", json=payload))
        session_id = body.get("session_id", body.get("eye_exam_register_id"))
        if session_id in (None, ""):
            raise ApiError(
                "resolve answered without session_id or eye_exam_register_id", status=200
            )
        uploaded = body.get("uploaded")
        return Session(
            str(session_id),
            bool(body.get("reactivated")),
            list(uploaded) if isinstance(uploaded, list) else None,
        )

    def upload(
        self, subject_identifier: str, file_type: str, path: Path, *, session_id: str, checksum: str
    ) -> tuple[int, dict]:
        """(HTTP status, body): 201 stored, 200 the server already had these bytes under this name."""
        path = Path(path)
        fields = {"capture_datetime": capture_datetime(path), "checksum": checksum}
        content_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
        response = self._request(
            "POST",
            f"{subject_identifier}/{file_type}/",
            params=session_params(session_id),
            body_factory=lambda: MultipartFile(fields, "file", path, content_type),
        )
        return response.status_code, _json(response)

    def status(
        self,
        subject_identifier: str,
        session_id: str | None = None,
        *,
        retries: int | None = None,
        timeout: float | None = None,
    ) -> Status:
        body = _json(
            self._request(
                "GET",
                f"{subject_identifier}/status/",
                params=session_params(session_id),
                ok=(200,),
                retries=retries,
                timeout=timeout,
            )
        )
        checks = body.get("checks")
        return Status(
            complete=bool(body.get("complete")),
            uploaded=sorted(body.get("uploaded") or []),
            missing=sorted(body.get("missing") or []),
            report_type=body.get("report_type"),
            session_id=answered_session(body),
            checks=checks if isinstance(checks, dict) else {},
        )


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
