"""A small in-process camera API for the watchdog's tests, after ../../../shared/spec/camera-api.md.

Two generations: "older" (session mode: subjects in a registry, demographics checked, resolve
creates or reuses a session and answers `session_id` as an integer) and "newer" (register mode:
sessions made beforehand by staff, resolve answers `eye_exam_register_id`, `no_eligible_session`
when all are complete or contraindicated, `capture_datetime` required). `version="1.4.0"` (newer
only) is edc-retinopathy 1.4.0, whose status answers for the subject's newest register whatever
register the request names. Faults can be injected: status codes with Retry-After, hangs longer
than the client's timeout, a server that is down.
"""

import hashlib
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

PREFIX = "/api/retinopathy/"
FILE_TYPES = {"left", "right", "left_dicom", "right_dicom", "report", "left_report", "right_report"}
GROUPS = {
    "combined": [("left_dicom", "left"), ("right_dicom", "right"), ("report",)],
    "per_eye": [
        ("left_dicom", "left"),
        ("right_dicom", "right"),
        ("left_report",),
        ("right_report",),
    ],
}


@dataclass
class StubSession:
    id: object
    subject: str
    report_type: str = "combined"
    contraindicated: bool = False
    created: float = field(default_factory=time.time)
    files: dict = field(default_factory=dict)  # original_filename -> (file_type, sha256)

    def uploaded(self):
        return sorted({t for t, _ in self.files.values()})

    def missing(self):
        types = set(self.uploaded())
        return sorted(group[0] for group in GROUPS[self._judged_by()] if not types & set(group))

    def _judged_by(self):
        types = set(self.uploaded())
        if types & {"left_report", "right_report"} and "report" not in types:
            return "per_eye"
        return "combined" if "report" in types else self.report_type

    def complete(self):
        return not self.missing()


@dataclass
class Fault:
    match: str  # substring of "METHOD path"
    times: int
    status: int = 503
    retry_after: str | None = None
    hang: float = 0.0  # seconds to sit on the request before answering
    after_store: bool = False  # store the upload first, then fail/hang (the answer is lost)
    body: dict | None = None


class StubCameraServer:
    def __init__(self, generation: str = "older", token: str = "test-token", version: str = ""):
        assert generation in ("older", "newer")
        assert version in ("", "1.4.0") and (not version or generation == "newer")
        self.generation = generation
        self.version = version
        self.token = token
        self.registry: dict[str, dict] = {}  # subject -> demographics (older/session mode)
        self.sessions: dict[str, StubSession] = {}
        self.last_resolved: dict[str, str] = {}
        self.requests: list[dict] = []  # requests that reached the API logic, in order
        self.seen: list[str] = []  # "METHOD path" of every request, injected failures included
        self.created: list[tuple] = []  # (session id, filename) of every 201: duplicates show here
        self.faults: list[Fault] = []
        # Our server's `checks` objects for successive status answers (the last one repeats);
        # empty: the status answer has no `checks`, as the field's servers answer.
        self.checks: list = []
        self.down = False  # answer 503 to everything
        self.in_flight = 0
        self.max_in_flight = 0  # most requests handled at the same time
        self.lock = threading.RLock()
        self._stopping = threading.Event()
        self._server = None
        self._thread = None

    # setup ------------------------------------------------------------------------------------

    def register(self, subject, initials="AB", sex="M", age=50):
        self.registry[subject] = {"initials": initials, "sex": sex, "age": age}

    def add_register(
        self, subject, report_type="combined", contraindicated=False, complete=False, created=None
    ):
        """Newer server: an exam register made by staff beforehand."""
        session = StubSession(str(uuid.uuid4()), subject, report_type, contraindicated)
        if created is not None:
            session.created = created
        if complete:
            session.files = {
                "a.jpg": ("left", ""),
                "b.jpg": ("right", ""),
                "c.html": ("report", ""),
            }
        self.sessions[str(session.id)] = session
        return session

    def fail(
        self, match, times=1, status=503, retry_after=None, hang=0.0, after_store=False, body=None
    ):
        self.faults.append(Fault(match, times, status, retry_after, hang, after_store, body))

    @property
    def url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        server.daemon_threads = False
        server.block_on_close = True
        server.handle_error = lambda request, address: None  # clients that timed out and left
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self):
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    # queries for tests ------------------------------------------------------------------------

    def hits(self, fragment):
        return sum(fragment in key for key in self.seen)

    def uploads(self, filename=None):
        return [
            r
            for r in self.requests
            if r["kind"] == "upload" and (filename is None or r["filename"] == filename)
        ]

    def session_of(self, subject):
        with self.lock:
            sid = self.last_resolved.get(subject)
            return self.sessions.get(sid) if sid else None

    # request handling -------------------------------------------------------------------------

    def _fault(self, key):
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.match in key:
                    fault.times -= 1
                    return fault
        return None

    def handle(self, method, path, query, headers, body):
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return self._handle(method, path, query, headers, body)
        finally:
            with self.lock:
                self.in_flight -= 1

    def _handle(self, method, path, query, headers, body):
        key = f"{method} {path}"
        with self.lock:
            self.seen.append(key)
        if headers.get("Authorization") != f"Token {self.token}":
            return 401, {"detail": "Invalid token."}, {"WWW-Authenticate": "Token"}
        if self.down:
            return 503, {"detail": "Service unavailable"}, {}
        fault = self._fault(key)
        if fault and not fault.after_store:
            if fault.hang:
                self._stopping.wait(fault.hang)
            return self._fault_response(fault)
        rel = path[len(PREFIX) :]
        parts = [p for p in rel.split("/") if p]
        with self.lock:
            if method == "GET" and parts == ["ping"]:
                result = 200, {"status": "ok"}, {}
            elif method == "POST" and parts == ["resolve"]:
                result = self._resolve(json.loads(body or b"{}"))
            elif method == "GET" and len(parts) == 2 and parts[1] == "status":
                result = self._status(parts[0], query)
            elif method == "POST" and len(parts) == 2:
                result = self._upload(parts[0], parts[1], query, headers, body)
            else:
                result = 404, {"detail": "Not found."}, {}
        if fault:  # after_store: the server did the work, the client never hears of it
            if fault.hang:
                self._stopping.wait(fault.hang)
            return self._fault_response(fault)
        return result

    def _fault_response(self, fault):
        headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
        return (
            fault.status,
            fault.body or {"code": "server_error", "error": "injected failure"},
            headers,
        )

    def _resolve(self, data):
        subject = data.get("subject_identifier")
        self.requests.append({"kind": "resolve", "json": data})
        if not subject:
            return 400, {"subject_identifier": ["This field is required."]}, {}
        if self.generation == "newer":
            mine = [s for s in self.sessions.values() if s.subject == subject]
            if not mine:
                return 404, {"code": "no_session", "error": f"No exam register for {subject}."}, {}
            eligible = [s for s in mine if not s.complete() and not s.contraindicated]
            if not eligible:
                return (
                    400,
                    {"code": "no_eligible_session", "error": "All exam registers are complete."},
                    {},
                )
            session = max(eligible, key=lambda s: s.created)
            self.last_resolved[subject] = str(session.id)
            return (
                200,
                {
                    "subject_identifier": subject,
                    "session_id": str(session.id),
                    "eye_exam_register_id": str(session.id),
                    "reactivated": False,
                    "uploaded": session.uploaded(),
                },
                {},
            )
        known = self.registry.get(subject)
        if known is None:
            return 400, {"code": "subject_not_found", "error": f"Subject {subject} not found."}, {}
        errors = _mismatches(known, data)
        if errors:
            return (
                400,
                {
                    "code": "validation_mismatch",
                    "error": "Demographics do not match.",
                    "errors": errors,
                },
                {},
            )
        open_ = [s for s in self.sessions.values() if s.subject == subject and not s.complete()]
        if open_:
            session, status = max(open_, key=lambda s: s.created), 200
        else:
            session = StubSession(
                len(self.sessions) + 1, subject, data.get("report_type") or "combined"
            )
            self.sessions[str(session.id)] = session
            status = 201
        self.last_resolved[subject] = str(session.id)
        # The older server: an integer id, only `session_id`.
        return (
            status,
            {
                "subject_identifier": subject,
                "session_id": session.id,
                "reactivated": bool(open_),
                "uploaded": session.uploaded(),
            },
            {},
        )

    def _session_for(self, subject, query):
        name = "session_id" if self.generation == "older" else "eye_exam_register_id"
        sid = (query.get(name) or [None])[0] or self.last_resolved.get(subject)
        session = self.sessions.get(str(sid)) if sid else None
        return session if session and session.subject == subject else None

    def _status(self, subject, query):
        self.requests.append({"kind": "status", "subject": subject, "query": query})
        session = self._session_for(subject, query)
        if self.version == "1.4.0":  # its bug: the newest register, whichever one was asked for
            mine = [s for s in self.sessions.values() if s.subject == subject]
            session = max(mine, key=lambda s: s.created) if mine else None
        if session is None:
            return 404, {"code": "no_session", "error": f"No session for {subject}."}, {}
        return (
            200,
            {
                "session_id": str(session.id),
                "eye_exam_register_id": str(session.id),
                "subject_identifier": subject,
                "report_type": session.report_type,
                "uploaded": session.uploaded(),
                "missing": session.missing(),
                "complete": session.complete(),
                **({"checks": self._next_checks()} if self.checks else {}),
            },
            {},
        )

    def _next_checks(self):
        return self.checks.pop(0) if len(self.checks) > 1 else self.checks[0]

    def _upload(self, subject, file_type, query, headers, body):
        fields, files = parse_multipart(headers.get("Content-Type", ""), body)
        upload = files.get("file")
        record = {
            "kind": "upload",
            "subject": subject,
            "file_type": file_type,
            "query": query,
            "fields": fields,
            "filename": upload[0] if upload else None,
            "chunked": "Transfer-Encoding" in headers,
            "content_length": headers.get("Content-Length"),
            "time": time.time(),
        }
        self.requests.append(record)
        if file_type not in FILE_TYPES:
            return (
                400,
                {"code": "invalid_file_type", "error": f"Unknown file type {file_type}."},
                {},
            )
        if not upload or not upload[1]:
            return 400, {"file": ["No file was submitted."]}, {}
        if self.generation == "newer" and not fields.get("capture_datetime"):
            return 400, {"capture_datetime": ["This field is required."]}, {}
        name, data = upload
        if not _content_ok(file_type, data):
            return (
                400,
                {"code": "invalid_content", "error": f"{name} is not a valid {file_type} file."},
                {},
            )
        session = self._session_for(subject, query)
        if session is None:
            return 404, {"code": "no_session", "error": "No such session."}, {}
        digest = hashlib.sha256(data).hexdigest()
        if name in session.files:
            if session.files[name][1] == digest:
                return 200, _record(session, name, session.files[name][0], digest), {}
            return (
                409,
                {"code": "filename_conflict", "error": f"{name} exists with other content."},
                {},
            )
        if fields.get("checksum") and fields["checksum"].lower() != digest:
            return 400, {"code": "checksum_mismatch", "error": "Checksum mismatch."}, {}
        session.files[name] = (file_type, digest)
        self.created.append((str(session.id), name))
        return 201, _record(session, name, file_type, digest), {}


def _record(session, name, file_type, digest):
    """An upload's answer, 201 and 200 alike: the stored file's record."""
    return {
        "id": name,
        "session_id": str(session.id),
        "eye_exam_register_id": str(session.id),
        "file_type": file_type,
        "original_filename": name,
        "checksum": digest,
    }


def _mismatches(known, sent):
    errors = []
    if sent.get("initials") and str(sent["initials"]).upper() != known["initials"].upper():
        errors.append("initials")
    if sent.get("sex") and str(sent["sex"]).upper() != known["sex"].upper():
        errors.append("sex")
    try:
        if sent.get("age") not in (None, "") and abs(int(sent["age"]) - int(known["age"])) > 1:
            errors.append("age")
    except (TypeError, ValueError):
        pass  # text that is not a number is not checked
    return errors


def _content_ok(file_type, data):
    if file_type in ("left", "right"):
        return data[:3] == b"\xff\xd8\xff" or data[:8] == b"\x89PNG\r\n\x1a\n"
    if file_type.endswith("_dicom"):
        return data[128:132] == b"DICM"
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"%pdf", b"<!doctype html", b"<html", b"<?xml", b"<!--", b"<meta"))


def parse_multipart(content_type, body):
    """(fields, files) of a multipart/form-data body; files: name -> (filename, bytes)."""
    if "boundary=" not in content_type:
        return {}, {}
    boundary = content_type.split("boundary=", 1)[1].strip().strip('"').encode()
    fields, files = {}, {}
    for part in body.split(b"--" + boundary)[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part[2:].partition(b"\r\n\r\n")
        data = data[:-2] if data.endswith(b"\r\n") else data
        disposition = next(
            (
                line
                for line in head.decode().split("\r\n")
                if line.lower().startswith("content-disposition")
            ),
            "",
        )
        params = dict(p.strip().split("=", 1) for p in disposition.split(";")[1:] if "=" in p)
        name = params.get("name", "").strip('"')
        if "filename*" in params:  # RFC 5987, as Django reads it: UTF-8''percent-encoded
            files[name] = (unquote(params["filename*"].split("''", 1)[-1]), data)
        elif "filename" in params:
            files[name] = (params["filename"].strip('"'), data)
        else:
            fields[name] = data.decode()
    return fields, files


def _handler(stub: StubCameraServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, *args):
            pass

        def _serve(self, method):
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, payload, extra = stub.handle(
                method, url.path, parse_qs(url.query), dict(self.headers), body
            )
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up waiting

        def do_GET(self):
            self._serve("GET")

        def do_POST(self):
            self._serve("POST")

    return Handler
