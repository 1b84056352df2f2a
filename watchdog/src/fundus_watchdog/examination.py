"""One examination, from a subject folder of stable files to the server and on to processed/.

resolve -> upload each file not yet confirmed -> status -> archive, recording every step in the
journal before taking the next, so an interrupted examination resumes without duplicates.
A folder is archived only when the server says the session is complete *and* every file in it
was either sent or deliberately left out; a file whose eye is unknown or that the server
refused keeps the folder where it is and is reported.
"""

import enum
import logging
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from . import image_checks
from .archive import archive_name, move_folder, unique_target
from .camera_db import CameraDb, CameraDbError
from .client import CameraApi, answered_session, same_session, sha256_of
from .config import Config
from .errors import ApiError, Stopped, advice
from .folders import (
    PROCESSED,
    REJECTED,
    Plan,
    candidate_files,
    plan_examination,
    subject_identifier,
)
from .journal import Journal

log = logging.getLogger(__name__)


class Outcome(enum.Enum):
    ARCHIVED = "archived"  # complete on the server, moved to processed/
    REJECTED = "rejected"  # the server has no eligible session: moved to rejected/
    WAITING = "waiting"  # files or eyes still missing; checked again soon
    BLOCKED = "blocked"  # needs staff: a file without eye, a file the server refused
    FAILED = "failed"  # server, network or camera database trouble; retried with backoff
    LOCKED = "locked"  # another program holds a file open; the move is retried shortly
    GONE = "gone"  # the folder disappeared
    STOPPED = "stopped"  # shutting down; resumes at the next start


@dataclass
class Result:
    outcome: Outcome
    message: str = ""
    retry_after: float | None = None


class Examinations:
    def __init__(
        self,
        config: Config,
        api: CameraApi,
        journal: Journal,
        camera_db: CameraDb,
        stop_event: threading.Event | None = None,
    ):
        self.config = config
        self.api = api
        self.journal = journal
        self.camera_db = camera_db
        self.stop_event = stop_event or threading.Event()

    def process(self, folder: Path, files: list[Path]) -> Result:
        subject = subject_identifier(folder.name, self.config)
        if subject is None or not folder.is_dir():
            return Result(Outcome.GONE)
        try:
            record = self.camera_db.lookup(subject)
        except CameraDbError as exc:
            return Result(
                Outcome.FAILED,
                f"subject {subject}: cannot read the camera database ({exc}); the folder"
                f" {folder.name} waits until it can (check db_path and the db_* names with"
                " `fundus-watchdog check`)",
            )
        plan = plan_examination(files, record, self.config)
        entry = self.journal.subject(folder.name)
        if not plan.ready and not (entry and entry.session_id):
            return Result(Outcome.WAITING, _waiting(subject, plan))
        try:
            return self._send(folder, subject, plan, record.demographics, files)
        except Stopped:
            return Result(Outcome.STOPPED)
        except OSError as exc:
            # A file vanished, or is locked while hashing/reading: look again later.
            return Result(
                Outcome.WAITING,
                f"subject {subject}: cannot read {exc.filename or 'a file'} yet"
                f" ({exc.strerror.lower() if exc.strerror else exc})",
            )
        except ApiError as exc:
            if exc.code == "no_eligible_session":
                return self._move(
                    folder, subject, REJECTED, advice(exc, subject, self.config.api_url)
                )
            if exc.code == "no_session" and entry and entry.session_id:
                # The server dropped the session: resolve again next time.
                self.journal.drop_session(folder.name)
            return Result(
                Outcome.FAILED,
                f"subject {subject}: {advice(exc, subject, self.config.api_url)}",
                retry_after=exc.retry_after,
            )

    def _send(
        self, folder: Path, subject: str, plan: Plan, demographics: dict, files: list[Path]
    ) -> Result:
        session_id, baseline, server_has = self._session(folder, subject, demographics)
        refused, checksums = self._upload_all(
            folder, subject, plan, session_id, baseline, server_has
        )
        status = self.api.status(subject, session_id)
        log.debug(
            "subject %s session %s: server has %s, missing %s",
            subject,
            session_id,
            status.uploaded,
            status.missing,
        )
        if not plan.ready:
            return Result(Outcome.WAITING, _waiting(subject, plan))
        problems = [f"{p.name}: {why}" for p, why in plan.unmapped] + refused
        if problems:
            return Result(
                Outcome.BLOCKED,
                f"subject {subject}: the folder stays until these files are fixed"
                f" or removed: {'; '.join(problems)}",
            )
        why = f"complete on the server (session {session_id})"
        if not status.complete and status.describes_another_than(session_id):
            if not self._acknowledged(folder, plan, session_id, checksums):
                return Result(
                    Outcome.FAILED,
                    f"subject {subject}: everything is sent, but the server's status describes"
                    f" another examination (register {status.session_id}, not {session_id} where"
                    " the files went) and not every upload answer confirmed its file; retrying",
                )
            # edc-retinopathy 1.4.0 answers status for the subject's newest register: the upload
            # answers, which named our register and echoed each checksum, are the evidence.
            why = (
                f"every file was acknowledged in register {session_id} with a matching checksum,"
                f" so it is complete there; the server's status described register"
                f" {status.session_id} instead (edc-retinopathy 1.4.0 answers status for a"
                " subject's newest register)"
            )
        elif not status.complete:
            return Result(
                Outcome.FAILED,
                f"subject {subject}: everything is sent but the server says the"
                f" examination is incomplete (missing: {', '.join(status.missing) or '?'})",
            )
        if not status.describes_another_than(session_id):
            self._report_checks(subject, session_id, status)
        if set(candidate_files(folder)) != set(files):
            return Result(Outcome.WAITING, f"subject {subject}: new files arrived; looking again")
        return self._move(folder, subject, PROCESSED, why)

    def _report_checks(self, subject: str, session_id: str, status) -> None:
        """Say what the server's checks found (waiting for them a bounded time) while the
        patient may still be there to be photographed again."""
        wait = self.config.checks_wait
        checks = image_checks.await_checks(
            self.api, subject, session_id, status, wait, self.stop_event
        )
        image_checks.report(subject, checks, wait)

    def _acknowledged(self, folder: Path, plan: Plan, session_id: str, checksums: dict) -> bool:
        """Every file of the examination was answered by the server naming `session_id` and
        echoing the file's current checksum."""
        for planned in plan.uploads:
            entry = self.journal.file(folder.name, planned.path.name)
            if not (
                entry
                and entry.state == "uploaded"
                and entry.session_id == session_id
                and entry.checksum == checksums.get(planned.path.name)
                and same_session(entry.acknowledged, session_id)
            ):
                return False
        return bool(plan.uploads)

    def _session(self, folder: Path, subject: str, demographics: dict):
        """(session id, what the server had when it gave us the session, what it has now)."""
        entry = self.journal.subject(folder.name)
        if entry and entry.session_id:
            try:
                status = self.api.status(subject, entry.session_id)
                if status.describes_another_than(entry.session_id):
                    # Its list is another register's: it proves nothing about ours.
                    return entry.session_id, entry.baseline, []
                return entry.session_id, entry.baseline, status.uploaded
            except ApiError as exc:
                if exc.code != "no_session":
                    raise
                log.warning(
                    "subject %s: session %s is gone on the server; asking for a new one",
                    subject,
                    entry.session_id,
                )
                self.journal.drop_session(folder.name)
        c = self.config
        session = self.api.resolve(
            subject,
            device_id=c.device_id,
            site_id=c.site_id,
            report_type=c.report_type,
            **demographics,
        )
        self.journal.start_session(folder.name, subject, session.id, session.uploaded)
        log.info(
            "subject %s: session %s%s",
            subject,
            session.id,
            " (reactivated)" if session.reactivated else "",
        )
        return session.id, session.uploaded, session.uploaded or []

    def _upload_all(
        self, folder, subject, plan: Plan, session_id, baseline, server_has
    ) -> tuple[list[str], dict]:
        """Send every file not yet confirmed; (the refusals as "name: why" lines, the checksum
        of each file by name)."""
        refused, pending, checksums = [], [], {}
        for planned in plan.uploads:
            checksum = checksums[planned.path.name] = sha256_of(planned.path)
            entry = self.journal.file(folder.name, planned.path.name)
            if entry and entry.checksum == checksum and entry.session_id == session_id:
                if entry.state == "uploaded":
                    continue
                if entry.state == "refused":  # permanent: not sent again unless the file changes
                    refused.append(f"{planned.path.name}: {entry.message}")
                    continue
            pending.append((planned, checksum, entry))
        unconfirmed = Counter(planned.file_type for planned, _, _ in pending)
        for planned, checksum, entry in pending:
            if self.stop_event.is_set():
                raise Stopped()
            same = entry is not None and (entry.checksum, entry.session_id) == (
                checksum,
                session_id,
            )
            in_doubt = same and entry.state == "sending"
            # Killed after sending, before recording? If this is the only unconfirmed file of its
            # type, and the server lists that type now but did not when it gave us the session,
            # the server's own list proves it arrived.
            proven = (
                in_doubt
                and baseline is not None
                and planned.file_type in server_has
                and planned.file_type not in baseline
                and unconfirmed[planned.file_type] == 1
            )
            why = self._upload_one(folder, subject, planned, checksum, session_id, proven)
            if why:
                refused.append(f"{planned.path.name}: {why}")
        return refused, checksums

    def _upload_one(self, folder, subject, planned, checksum, session_id, proven) -> str | None:
        """Send one file, journalled before and after; None, or why the server refused it."""
        name, file_type = planned.path.name, planned.file_type

        def mark(state, code=None, message=None, acknowledged=None):
            self.journal.mark_file(
                folder.name,
                name,
                checksum,
                file_type,
                session_id,
                state,
                code,
                message,
                acknowledged,
            )

        if proven:
            mark("uploaded")
            log.info(
                "subject %s: %s already on the server as %s; not sent again",
                subject,
                name,
                file_type,
            )
            return None
        mark("sending")
        try:
            code, body = self.api.upload(
                subject, file_type, planned.path, session_id=session_id, checksum=checksum
            )
        except ApiError as exc:
            if not exc.permanent_for_file:
                raise
            why = advice(exc, subject, self.config.api_url)
            mark("refused", exc.code, why)
            log.error("subject %s: the server refused %s as %s: %s", subject, name, file_type, why)
            return why
        server_checksum = str(body.get("checksum") or checksum).lower()
        if server_checksum != checksum:
            why = f"the server holds different bytes under this name (checksum {server_checksum[:12]}...)"
            mark("refused", "checksum", why)
            log.error("subject %s: %s: %s", subject, name, why)
            return why
        # The answer's own word that these bytes are in this session (1.4.0's status may not say).
        echoed = answered_session(body) if body.get("checksum") else None
        mark("uploaded", acknowledged=echoed)
        if code == 201:
            eye = f", eye from {planned.source}" if planned.source else ""
            log.info("subject %s: uploaded %s as %s%s", subject, name, file_type, eye)
        else:
            log.info(
                "subject %s: the server already had %s as %s (same bytes)", subject, name, file_type
            )
        return None

    def _move(self, folder: Path, subject: str, where: str, why: str) -> Result:
        target = unique_target(self.config.watch_dir / where, archive_name(subject))
        self.journal.begin_move(
            folder.name, subject, "archiving" if where == PROCESSED else "rejecting", target
        )
        try:
            move_folder(folder, target)
        except PermissionError as exc:
            self.journal.cancel_move(folder.name)
            return Result(
                Outcome.LOCKED,
                f"subject {subject}: a file is still open in another program"
                f" ({exc.filename or exc}); the folder is moved when it is free",
            )
        self.journal.finish_move(folder.name, where)
        if where == REJECTED:
            log.error("subject %s: %s. The folder was moved to %s", subject, why, target)
            return Result(Outcome.REJECTED, str(target))
        log.info("subject %s: %s; archived to %s", subject, why, target)
        return Result(Outcome.ARCHIVED, str(target))


def _waiting(subject: str, plan: Plan) -> str:
    text = f"subject {subject}: waiting for {', '.join(plan.missing)}"
    if plan.unmapped:
        text += "; cannot tell the eye of " + "; ".join(
            f"{p.name} ({why})" for p, why in plan.unmapped
        )
    return text


def recover_moves(journal: Journal) -> None:
    """After a crash between `begin_move` and `finish_move`: close the entries whose folder did
    move; the others simply go through the usual steps again."""
    for entry in journal.subjects():
        if entry.state not in ("archiving", "rejecting"):
            continue
        if entry.target and Path(entry.target).is_dir():
            journal.finish_move(entry.folder, PROCESSED if entry.state == "archiving" else REJECTED)
        else:
            journal.cancel_move(entry.folder)
