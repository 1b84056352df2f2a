"""The camera's SQLite database, read-only: demographics, and which eye each file shows.

The camera software owns this file and keeps writing to it, so every lookup opens a short
read-only connection (`mode=ro`) and closes it at once, never holding a lock the camera waits on.
Table and column names come from the config; they were validated as plain identifiers and are
quoted here, never formatted into SQL unchecked.
"""

import contextlib
import logging
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from .config import Config

log = logging.getLogger(__name__)


class CameraDbError(Exception):
    """The camera database could not be read (missing, locked too long, or a wrong mapping)."""


@dataclass
class SubjectRecord:
    """What the camera database knows about one subject."""

    demographics: dict = field(default_factory=dict)  # initials / sex / age, only those it has
    eyes: dict = field(default_factory=dict)  # lower-case file name (and stem) -> raw eye value
    found: bool = False  # the database was there and readable

    def eye_value(self, filename: str):
        name = filename.lower()
        return self.eyes.get(name, self.eyes.get(name.rsplit(".", 1)[0]))


def _quote(identifier: str) -> str:
    # Brackets, not double quotes: SQLite reads an unknown "column" as a string literal, so a
    # wrong mapping would silently return the text 'laterality' as every file's eye.
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", identifier):
        raise CameraDbError(f"not a plain SQL identifier: {identifier!r}")
    return f"[{identifier}]"


def read_only_uri(absolute: str) -> str:
    """SQLite URI opening a file read-only: `file:/C:/x/camera.db?mode=ro`, and for a share
    `file:////server/share/camera.db?mode=ro` (SQLite refuses a URI host, which as_uri() makes)."""
    path = absolute.replace("\\", "/")
    if not path.startswith("/"):
        path = "/" + path  # C:/x -> /C:/x
    return "file:" + ("//" if path.startswith("//") else "") + quote(path, safe="/:") + "?mode=ro"


def _basename(value) -> str:
    # The camera may store a bare name, a stem, or a Windows path: keep the last component.
    return re.split(r"[\\/]", str(value).strip())[-1].lower()


def _sex(value) -> str | None:
    text = str(value or "").strip().upper()
    return {"M": "M", "MALE": "M", "F": "F", "FEMALE": "F"}.get(text)


def _age(value):
    """A number when the camera stored one (or a numeric text), else the text as it was sent."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,3}\s*", value):
        return int(value)
    return value


class CameraDb:
    def __init__(self, config: Config):
        self.config = config
        self.path = config.db_path

    @property
    def configured(self) -> bool:
        return self.path is not None

    @contextlib.contextmanager
    def connect(self):
        if not self.path or not Path(self.path).is_file():
            raise CameraDbError(f"camera database not found: {self.path}")
        uri = read_only_uri(str(Path(self.path).resolve()))
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=10)
        except sqlite3.Error as exc:
            raise CameraDbError(f"cannot open camera database {self.path}: {exc}") from exc
        try:
            yield conn
        except sqlite3.Error as exc:
            raise CameraDbError(f"camera database {self.path}: {exc}") from exc
        finally:
            conn.close()

    def lookup(self, subject_identifier: str) -> SubjectRecord:
        """Demographics and file eyes of one subject. An unconfigured database gives an empty record."""
        record = SubjectRecord()
        if not self.configured:
            return record
        c = self.config
        with self.connect() as conn:
            row = conn.execute(
                f"SELECT {_quote(c.db_patient_initials)}, {_quote(c.db_patient_sex)}, {_quote(c.db_patient_age)}"
                f" FROM {_quote(c.db_patient_table)} WHERE {_quote(c.db_patient_subject_id)} = ?",
                (subject_identifier,),
            ).fetchone()
            images = conn.execute(
                f"SELECT {_quote(c.db_image_filename)}, {_quote(c.db_image_eye)} FROM {_quote(c.db_image_table)}"
                f" WHERE {_quote(c.db_image_subject_id)} = ?",
                (subject_identifier,),
            ).fetchall()
        record.found = True
        if row:
            initials, sex, age = row
            demographics = {
                "initials": str(initials).strip() if initials is not None else "",
                "sex": _sex(sex),
                "age": _age(age),
            }
            record.demographics = {k: v for k, v in demographics.items() if v not in (None, "")}
        for filename, eye in images:
            if filename is None:
                continue
            name = _basename(filename)
            record.eyes[name] = eye
            if "." not in name:
                continue
            record.eyes.setdefault(name.rsplit(".", 1)[0], eye)  # DB with extension, disk without
        return record

    def describe(self) -> dict:
        """{table: [columns]} of every table and view, for `check`."""
        with self.connect() as conn:
            names = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'"
                    " ORDER BY name"
                )
            ]
            return {
                name: [r[1] for r in conn.execute(f"PRAGMA table_info({_quote_any(name)})")]
                for name in names
            }

    def eye_values(self) -> dict:
        """{raw eye value: count} in the image table, for `check`."""
        c = self.config
        with self.connect() as conn:
            rows = conn.execute(
                f"SELECT {_quote(c.db_image_eye)}, COUNT(*) FROM {_quote(c.db_image_table)}"
                f" GROUP BY {_quote(c.db_image_eye)}"
            ).fetchall()
        return {value: count for value, count in rows}


def _quote_any(name: str) -> str:
    # Names read from sqlite_master itself (vendor schemas may have spaces): quote with doubling.
    return '"' + name.replace('"', '""') + '"'
