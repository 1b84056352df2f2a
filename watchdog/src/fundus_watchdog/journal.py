"""The watchdog's own durable journal (SQLite; never the camera's database).

Per subject folder: the session the server gave it, what the server already had then, and each
file sent with its checksum. Every step is committed *before* the next network call:

    resolve -> session recorded -> file marked "sending" -> POST -> file marked "uploaded"
    status complete -> move recorded ("archiving", with its target) -> rename -> entry closed

so a process killed at any instant restarts knowing exactly what may be in doubt: at most one
file per folder is "sending", and re-sending it is harmless (the server answers 200 for the
same name and bytes) unless the server's own list already proves it arrived.
"""

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS subjects (
    folder TEXT PRIMARY KEY,
    subject_identifier TEXT NOT NULL,
    session_id TEXT,
    baseline TEXT,             -- JSON list: file types the server had when it gave us the session
    state TEXT NOT NULL,       -- uploading / failing / blocked / archiving / rejecting
    target TEXT,               -- where archiving/rejecting moves the folder
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_attempt REAL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    folder TEXT NOT NULL,
    filename TEXT NOT NULL,
    checksum TEXT NOT NULL,
    file_type TEXT NOT NULL,
    session_id TEXT NOT NULL,
    state TEXT NOT NULL,       -- sending / uploaded / refused
    code TEXT,
    message TEXT,
    updated REAL NOT NULL,
    acknowledged TEXT,         -- the session the server's upload answer named, with our checksum
    PRIMARY KEY (folder, filename)
);
CREATE TABLE IF NOT EXISTS history (
    folder TEXT NOT NULL,
    subject_identifier TEXT NOT NULL,
    session_id TEXT,
    outcome TEXT NOT NULL,     -- processed / rejected
    path TEXT NOT NULL,
    files INTEGER NOT NULL,
    finished REAL NOT NULL
);
"""


@dataclass
class SubjectEntry:
    folder: str
    subject_identifier: str
    session_id: str | None
    baseline: list | None
    state: str
    target: str | None
    attempts: int
    last_error: str | None
    next_attempt: float | None


@dataclass
class FileEntry:
    filename: str
    checksum: str
    file_type: str
    session_id: str
    state: str
    code: str | None
    message: str | None
    acknowledged: str | None = None


class Journal:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One connection shared by the worker threads, serialised by a lock: writes are tiny.
        self._conn = sqlite3.connect(
            self.path, timeout=30, check_same_thread=False, isolation_level=None
        )
        self._lock = threading.RLock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL: a committed step survives the process being killed at any instant (it is in
            # the WAL file); a power cut may lose the last few, which costs a re-send the server
            # answers as identical (200) - the server's own list is the truth. FULL fsynced every
            # step under the shared lock, which serialised all upload workers on the disk.
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(SCHEMA)
            columns = {row[1] for row in self._conn.execute("PRAGMA table_info(files)")}
            if "acknowledged" not in columns:  # a journal from before this column
                self._conn.execute("ALTER TABLE files ADD COLUMN acknowledged TEXT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _write(self, sql: str, params=()) -> None:
        with self._lock:
            self._conn.execute(sql, params)

    def _rows(self, sql: str, params=()) -> list:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    # subjects -------------------------------------------------------------------------------

    def subject(self, folder: str) -> SubjectEntry | None:
        rows = self._rows(
            "SELECT folder, subject_identifier, session_id, baseline, state, target, attempts, last_error,"
            " next_attempt FROM subjects WHERE folder = ?",
            (folder,),
        )
        return _subject(rows[0]) if rows else None

    def subjects(self) -> list[SubjectEntry]:
        rows = self._rows(
            "SELECT folder, subject_identifier, session_id, baseline, state, target, attempts, last_error,"
            " next_attempt FROM subjects ORDER BY folder"
        )
        return [_subject(r) for r in rows]

    def start_session(
        self, folder: str, subject: str, session_id: str, baseline: list | None
    ) -> None:
        self._write(
            "INSERT INTO subjects (folder, subject_identifier, session_id, baseline, state, updated)"
            " VALUES (?, ?, ?, ?, 'uploading', ?)"
            " ON CONFLICT (folder) DO UPDATE SET subject_identifier = excluded.subject_identifier,"
            " session_id = excluded.session_id, baseline = excluded.baseline, state = 'uploading',"
            " updated = excluded.updated",
            (
                folder,
                subject,
                session_id,
                None if baseline is None else json.dumps(sorted(baseline)),
                time.time(),
            ),
        )

    def drop_session(self, folder: str) -> None:
        self._write(
            "UPDATE subjects SET session_id = NULL, baseline = NULL WHERE folder = ?", (folder,)
        )

    def record_problem(
        self, folder: str, subject: str, state: str, error: str, next_attempt: float | None
    ):
        """A failing (server/network) or blocked (needs staff) subject, visible in `status`."""
        self._write(
            "INSERT INTO subjects (folder, subject_identifier, state, attempts, last_error, next_attempt, updated)"
            " VALUES (?, ?, ?, 1, ?, ?, ?)"
            " ON CONFLICT (folder) DO UPDATE SET state = excluded.state, attempts = subjects.attempts + 1,"
            " last_error = excluded.last_error, next_attempt = excluded.next_attempt, updated = excluded.updated",
            (folder, subject, state, error, next_attempt, time.time()),
        )

    def clear_problem(self, folder: str) -> None:
        self._write(
            "UPDATE subjects SET state = 'uploading', attempts = 0, last_error = NULL, next_attempt = NULL"
            " WHERE folder = ? AND state IN ('failing', 'blocked')",
            (folder,),
        )

    def begin_move(self, folder: str, subject: str, state: str, target: Path) -> None:
        self._write(
            "INSERT INTO subjects (folder, subject_identifier, state, target, updated) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (folder) DO UPDATE SET state = excluded.state, target = excluded.target,"
            " updated = excluded.updated",
            (folder, subject, state, str(target), time.time()),
        )

    def finish_move(self, folder: str, outcome: str) -> None:
        """Close the folder's entry (a new folder of the same name is a new examination)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.execute(
                    "INSERT INTO history (folder, subject_identifier, session_id, outcome, path, files, finished)"
                    " SELECT folder, subject_identifier, session_id, ?, COALESCE(target, ''),"
                    " (SELECT COUNT(*) FROM files WHERE files.folder = subjects.folder AND state = 'uploaded'), ?"
                    " FROM subjects WHERE folder = ?",
                    (outcome, time.time(), folder),
                )
                self._conn.execute("DELETE FROM files WHERE folder = ?", (folder,))
                self._conn.execute("DELETE FROM subjects WHERE folder = ?", (folder,))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def cancel_move(self, folder: str) -> None:
        self._write(
            "UPDATE subjects SET state = 'uploading', target = NULL WHERE folder = ?", (folder,)
        )

    def history(self) -> list[tuple]:
        return self._rows(
            "SELECT folder, subject_identifier, session_id, outcome, path, files, finished"
            " FROM history ORDER BY finished"
        )

    # files ----------------------------------------------------------------------------------

    def file(self, folder: str, filename: str) -> FileEntry | None:
        rows = self._rows(
            "SELECT filename, checksum, file_type, session_id, state, code, message, acknowledged"
            " FROM files"
            " WHERE folder = ? AND filename = ?",
            (folder, filename),
        )
        return FileEntry(*rows[0]) if rows else None

    def files(self, folder: str) -> list[FileEntry]:
        rows = self._rows(
            "SELECT filename, checksum, file_type, session_id, state, code, message, acknowledged"
            " FROM files"
            " WHERE folder = ? ORDER BY filename",
            (folder,),
        )
        return [FileEntry(*r) for r in rows]

    def mark_file(
        self,
        folder,
        filename,
        checksum,
        file_type,
        session_id,
        state,
        code=None,
        message=None,
        acknowledged=None,
    ):
        self._write(
            "INSERT INTO files (folder, filename, checksum, file_type, session_id, state, code, message, updated,"
            " acknowledged) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (folder, filename) DO UPDATE SET checksum = excluded.checksum,"
            " file_type = excluded.file_type, session_id = excluded.session_id, state = excluded.state,"
            " code = excluded.code, message = excluded.message, updated = excluded.updated,"
            " acknowledged = excluded.acknowledged",
            (
                folder,
                filename,
                checksum,
                file_type,
                session_id,
                state,
                code,
                message,
                time.time(),
                acknowledged,
            ),
        )


def _subject(row) -> SubjectEntry:
    values = list(row)
    values[3] = json.loads(values[3]) if values[3] is not None else None
    return SubjectEntry(*values)
