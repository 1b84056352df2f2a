"""`fundus-watchdog check`: is this workstation ready to go live? Every problem is listed at once.

Checks the watch folder, the camera database and the mapping that will be used (printing the
tables and columns actually found), and the server: reachable, a camera API, token accepted.
"""

import sqlite3
from pathlib import Path

from .camera_db import CameraDb, CameraDbError
from .client import CameraApi
from .config import Config
from .errors import ApiError, advice
from .eyes import normalise_eye
from .folders import RESERVED_FOLDERS, subject_identifier

PROBE_SUBJECT = "fundus-watchdog-check"


class _Report:
    def __init__(self, out):
        self.out = out
        self.problems = 0

    def ok(self, text):
        self.out(f"  [ok]      {text}")

    def warn(self, text):
        self.out(f"  [warning] {text}")

    def bad(self, text):
        self.problems += 1
        self.out(f"  [PROBLEM] {text}")

    def info(self, text):
        self.out(f"            {text}")


def run_check(config: Config, warnings: list[str], config_path: Path | None, out=print) -> int:
    r = _Report(out)
    out(
        f"fundus-watchdog check ({'config ' + str(config_path) if config_path else 'no config file'})"
    )
    for warning in warnings:
        r.warn(warning)
    out("Settings:")
    token = config.token[:4] + "..." if len(config.token) > 8 else "***"
    for key, value in [
        ("watch_dir", config.watch_dir),
        ("db_path", config.db_path or "(none)"),
        ("api_url", config.api_url),
        ("token", token),
        ("device_id", config.device_id),
        ("site_id", config.site_id),
        ("report_type", config.report_type),
        ("journal", config.journal_path),
        ("log file", config.log_file or "(none)"),
    ]:
        r.info(f"{key:12} {value}")
    _check_watch_dir(config, r)
    _check_camera_db(config, r)
    _check_server(config, r)
    out(
        "Result: "
        + ("ready" if not r.problems else f"{r.problems} problem(s) to fix before going live")
    )
    return 0 if not r.problems else 1


def _check_watch_dir(config: Config, r: _Report) -> None:
    r.out("Watch folder:")
    if not config.watch_dir.is_dir():
        r.bad(f"watch_dir {config.watch_dir} does not exist or is not a folder")
        return
    r.ok(f"{config.watch_dir} exists")
    state = config.state_dir
    try:
        state.mkdir(exist_ok=True)
        probe = state / "check.tmp"
        probe.write_text("ok", encoding="ascii")
        probe.unlink()
        r.ok(f"can write {state} (journal, log, lock)")
    except OSError as exc:
        r.bad(f"cannot write {state}: {exc}")
    folders = [
        p
        for p in sorted(config.watch_dir.iterdir())
        if p.is_dir() and p.name not in RESERVED_FOLDERS
    ]
    subjects = [(p.name, subject_identifier(p.name, config)) for p in folders]
    waiting = [f"{name} -> {s}" for name, s in subjects if s]
    ignored = [name for name, s in subjects if not s and not name.startswith(".")]
    r.ok(
        f"{len(waiting)} subject folder(s) waiting"
        + (f": {', '.join(waiting[:5])}" if waiting else "")
    )
    if ignored:
        r.warn(
            f"folders ignored (no subject identifier per subject_folder_regex): {', '.join(ignored[:5])}"
        )


def _check_camera_db(config: Config, r: _Report) -> None:
    r.out("Camera database:")
    if config.db_path is None:
        r.warn(
            "no camera database configured: eyes come from file names only, no demographics are sent"
        )
        return
    db = CameraDb(config)
    try:
        tables = db.describe()
    except CameraDbError as exc:
        r.bad(str(exc))
        return
    r.ok(f"{config.db_path} opens read-only; tables found:")
    for table, columns in tables.items():
        r.info(f"{table}({', '.join(columns)})")
    mapping = [
        ("db_patient_table", config.db_patient_table, [
            ("db_patient_subject_id", config.db_patient_subject_id), ("db_patient_initials", config.db_patient_initials),
            ("db_patient_sex", config.db_patient_sex), ("db_patient_age", config.db_patient_age)]),
        ("db_image_table", config.db_image_table, [
            ("db_image_subject_id", config.db_image_subject_id), ("db_image_filename", config.db_image_filename),
            ("db_image_eye", config.db_image_eye)]),
    ]  # fmt: skip
    r.out("Mapping that will be used:")
    lower = {name.lower(): name for name in tables}
    all_found = True
    for key, table, columns in mapping:
        if table.lower() not in lower:
            r.bad(f"{key} = {table!r}: no such table (found: {', '.join(tables) or 'none'})")
            all_found = False
            continue
        found = {c.lower() for c in tables[lower[table.lower()]]}
        for column_key, column in columns:
            if column.lower() in found:
                r.ok(f"{key}.{column_key}: {table}.{column}")
            else:
                r.bad(f"{column_key} = {column!r}: table {table} has no such column")
                all_found = False
    if not all_found:
        return
    try:
        values = db.eye_values()
    except (CameraDbError, sqlite3.Error) as exc:
        r.bad(f"cannot read eye values: {exc}")
        return
    unknown = {v: n for v, n in values.items() if v is not None and normalise_eye(v) is None}
    summary = ", ".join(f"{'(empty)' if v is None else repr(v)}: {n}" for v, n in values.items())
    summary = summary or "no images yet"
    r.ok(f"eye values in {config.db_image_table}.{config.db_image_eye}: {summary}")
    if unknown:
        r.warn(
            f"eye values not recognised (those files need an eye in their name): {', '.join(map(repr, unknown))}"
        )


def _check_server(config: Config, r: _Report) -> None:
    r.out("Server:")
    api = CameraApi(
        config.api_url, config.token, timeout=min(config.request_timeout, 15.0), retries=1
    )
    try:
        try:
            body = api.ping()
        except ApiError as exc:
            r.bad(f"ping {api.base}ping/: {advice(exc, PROBE_SUBJECT, config.api_url)}")
            return
        if body.get("status") != "ok":
            r.bad(f"{api.base}ping/ answered, but not like a camera API ({body!r}); check api_url")
            return
        r.ok(f"{api.base} is reachable")
        try:
            api.status(PROBE_SUBJECT)
            r.ok("token accepted")
        except ApiError as exc:
            if exc.status == 401:
                r.bad(advice(exc, PROBE_SUBJECT, config.api_url))
            elif exc.status == 403:
                r.warn(f"token accepted, but the probe was refused ({exc.message})")
            elif exc.status in (400, 404):
                r.ok("token accepted")
            else:
                r.bad(f"token test: {advice(exc, PROBE_SUBJECT, config.api_url)}")
    finally:
        api.close()
