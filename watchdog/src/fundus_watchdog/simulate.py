"""`fundus-watchdog simulate`: a fundus camera for demos and tests.

Writes examinations the way a camera does: a folder named by the subject, UUID-named JPEGs of a
synthetic fundus (drawn with Pillow, from the `simulate` extra) and HTML reports written slowly in chunks (the file exists, and grows, for a
while), and the camera's SQLite database with a patients and an images table, using any column
names and every eye spelling the field documents.
"""

import argparse
import json
import os
import random
import re
import sqlite3
import sys
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from .config import OPTION_BY_KEY, REPORT_TYPES
from .fundus_image import SimulatorNeedsPillow, fundus_picture, require_pillow, with_comment

LEFT_SPELLINGS = ["L", "LE", "OS", "LEFT", "left", "Os", " l "]
RIGHT_SPELLINGS = ["R", "RE", "OD", "RIGHT", "right", "Od", " r "]
DB_KEYS = [k for k in OPTION_BY_KEY if k.startswith("db_") and k != "db_path"]
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class SimulatedFile:
    name: str
    kind: str  # image / report
    eye: str | None  # left / right / None (combined report)
    spelling: str | None  # how the camera database spells the eye


@dataclass
class SimulatedExam:
    subject_identifier: str
    folder: str
    initials: str
    sex: str
    age: int
    report_type: str
    files: list[SimulatedFile] = field(default_factory=list)


def subject_identifiers(count: int, rng: random.Random, prefix: str = "105-10") -> list[str]:
    """Identifiers shaped like the field's (105-10-0989-3): prefix, number, check digit."""
    numbers = rng.sample(range(1, 10000), count)
    ids = []
    for n in numbers:
        body = f"{prefix}-{n:04d}"
        check = sum(int(c) for c in body if c.isdigit()) % 10
        ids.append(f"{body}-{check}")
    return ids


class Camera:
    def __init__(
        self,
        out: Path,
        *,
        db_path: Path | None = None,
        mapping: dict | None = None,
        chunk_size: int = 16 * 1024,
        chunk_delay: float = 0.05,
        image_size=(640, 480),
        seed: int | None = None,
        stop_event: threading.Event | None = None,
    ):
        require_pillow()  # fail before writing anything, not at the first picture
        self.out = Path(out)
        self.db_path = Path(db_path) if db_path else self.out / "camera.db"
        self.mapping = {k: OPTION_BY_KEY[k].default for k in DB_KEYS} | (mapping or {})
        for key, name in self.mapping.items():
            if not _IDENTIFIER.fullmatch(name):
                raise ValueError(f"{key} must be a plain SQL identifier, not {name!r}")
        self.chunk_size = chunk_size
        self.chunk_delay = chunk_delay
        self.image_size = image_size
        self.rng = random.Random(seed)
        self.stop_event = stop_event or threading.Event()
        self._spelling = 0
        self.out.mkdir(parents=True, exist_ok=True)
        self._create_tables()

    def _q(self, key: str) -> str:
        return f'"{self.mapping[key]}"'

    def _db(self):
        return sqlite3.connect(self.db_path, timeout=30)

    def _create_tables(self) -> None:
        q = self._q
        conn = self._db()
        try:
            with conn:
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {q('db_patient_table')} ({q('db_patient_subject_id')} TEXT PRIMARY KEY,"
                    f" {q('db_patient_initials')} TEXT, {q('db_patient_sex')} TEXT, {q('db_patient_age')})"
                )
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {q('db_image_table')} (id INTEGER PRIMARY KEY,"
                    f" {q('db_image_subject_id')} TEXT, {q('db_image_filename')} TEXT, {q('db_image_eye')} TEXT,"
                    " captured TEXT)"
                )
        finally:
            conn.close()

    def _insert(self, sql: str, params) -> None:
        conn = self._db()
        try:
            with conn:
                conn.execute(sql, params)
        finally:
            conn.close()

    def _write_slowly(self, path: Path, data: bytes) -> None:
        """Like a camera: the file appears at once and grows chunk by chunk."""
        with open(path, "wb") as f:
            for start in range(0, len(data), self.chunk_size):
                f.write(data[start : start + self.chunk_size])
                f.flush()
                if self.chunk_delay and start + self.chunk_size < len(data):
                    self.stop_event.wait(self.chunk_delay)

    def _next_spelling(self, eye: str) -> str:
        spellings = LEFT_SPELLINGS if eye == "left" else RIGHT_SPELLINGS
        self._spelling += 1
        return spellings[(self._spelling // 2) % len(spellings)]

    def examination(
        self,
        subject: str,
        report_type: str = "combined",
        folder_name: str | None = None,
        demographics: dict | None = None,
    ) -> SimulatedExam:
        """Write one whole examination: patient row, folder, both eye images, report(s)."""
        rng, q = self.rng, self._q
        demo = demographics or {}
        exam = SimulatedExam(
            subject,
            folder_name or subject,
            demo.get("initials") or "".join(rng.choice("ABCDEFGHJKLMNPRSTW") for _ in range(2)),
            demo.get("sex") or rng.choice("MF"),
            int(demo.get("age") or rng.randint(25, 85)),
            report_type,
        )
        # Some cameras store age as text: both must work.
        age = str(exam.age) if rng.random() < 0.3 else exam.age
        self._insert(
            f"INSERT OR REPLACE INTO {q('db_patient_table')} ({q('db_patient_subject_id')}, {q('db_patient_initials')},"
            f" {q('db_patient_sex')}, {q('db_patient_age')}) VALUES (?, ?, ?, ?)",
            (subject, exam.initials, exam.sex, age),
        )
        folder = self.out / exam.folder
        folder.mkdir(parents=True, exist_ok=True)
        variant = rng.randrange(3)
        for eye in ("left", "right"):
            name = f"{uuid.uuid4()}.jpg"
            picture = fundus_picture(eye, variant, *self.image_size)
            comment = f"fundus-watchdog simulator; subject {subject}; {eye} eye; {name}; {datetime.now().isoformat()}"
            self._write_slowly(folder / name, with_comment(picture, comment))
            self._add_file(exam, name, "image", eye)
        eyes = ("left", "right") if report_type == "per_eye" else (None,)
        for eye in eyes:
            name = f"{uuid.uuid4()}.html"
            self._write_slowly(folder / name, report_html(exam, eye).encode("utf-8"))
            self._add_file(exam, name, "report", eye)
        return exam

    def _add_file(self, exam: SimulatedExam, name: str, kind: str, eye: str | None) -> None:
        spelling = self._next_spelling(eye) if eye else None
        q = self._q
        self._insert(
            f"INSERT INTO {q('db_image_table')} ({q('db_image_subject_id')}, {q('db_image_filename')},"
            f" {q('db_image_eye')}, captured) VALUES (?, ?, ?, ?)",
            (exam.subject_identifier, name, spelling, datetime.now().isoformat(timespec="seconds")),
        )
        exam.files.append(SimulatedFile(name, kind, eye, spelling))


def report_html(exam: SimulatedExam, eye: str | None) -> str:
    title = f"{eye.capitalize()} eye report" if eye else "Fundus report (both eyes)"
    findings = "".join(
        f"<tr><td>{e.capitalize()} eye</td><td>No diabetic retinopathy detected</td><td>Gradable</td></tr>"
        for e in ([eye] if eye else ["right", "left"])
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title} - {exam.subject_identifier}</title></head>
<body>
<h1>{title}</h1>
<table>
<tr><th>Subject</th><td>{exam.subject_identifier}</td></tr>
<tr><th>Initials</th><td>{exam.initials}</td></tr>
<tr><th>Sex</th><td>{exam.sex}</td></tr>
<tr><th>Age</th><td>{exam.age}</td></tr>
<tr><th>Examined</th><td>{datetime.now():%Y-%m-%d %H:%M}</td></tr>
</table>
<h2>Findings</h2>
<table><tr><th>Eye</th><th>Grade</th><th>Quality</th></tr>{findings}</table>
<p>Generated by the fundus-watchdog camera simulator.</p>
</body></html>
"""


def write_manifest(path: Path, exams: list[SimulatedExam]) -> None:
    """The examinations written so far, as JSON (for registering subjects on a demo server)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps([asdict(e) for e in exams], indent=2), encoding="utf-8")
    os.replace(tmp, path)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="fundus-watchdog simulate", description=__doc__.split("\n\n")[0]
    )
    p.add_argument(
        "--out", required=True, type=Path, help="the folder the camera writes to (the watch folder)"
    )
    p.add_argument("--db", type=Path, help="camera database (default: OUT/camera.db)")
    p.add_argument(
        "--count",
        type=int,
        help="examinations to write; 0 = until Ctrl+C (default 5, or one per --subjects)",
    )
    p.add_argument(
        "--interval", type=float, default=10.0, help="seconds between examinations (default 10)"
    )
    p.add_argument(
        "--report-type",
        default="combined",
        choices=[*REPORT_TYPES, "mixed"],
        help="combined (one HTML), per_eye (one HTML per eye) or mixed (default combined)",
    )
    p.add_argument(
        "--subjects", help="comma-separated subject identifiers to use (default: generated)"
    )
    p.add_argument("--subject-prefix", default="105-10", help="prefix of generated identifiers")
    p.add_argument(
        "--chunk-size", type=int, default=16 * 1024, help="bytes per write (default 16384)"
    )
    p.add_argument(
        "--chunk-delay", type=float, default=0.05, help="seconds between writes (default 0.05)"
    )
    p.add_argument("--image-size", default="640x480", help="picture size WxH (default 640x480)")
    p.add_argument("--seed", type=int, help="make the run repeatable")
    p.add_argument("--manifest", type=Path, help="write the examinations as JSON here")
    p.add_argument(
        "--config", type=Path, help="take the db_* column names from this watchdog config"
    )
    for key in DB_KEYS:
        p.add_argument(
            "--" + key.replace("_", "-"),
            dest=key,
            help=f"{OPTION_BY_KEY[key].help} (default {OPTION_BY_KEY[key].default})",
        )
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    mapping = {}
    if args.config:
        from .config import read_config_file

        mapping = {k: v for k, v in read_config_file(args.config).items() if k in DB_KEYS}
    mapping |= {k: getattr(args, k) for k in DB_KEYS if getattr(args, k)}
    width, _, height = args.image_size.lower().partition("x")
    try:
        require_pillow()
    except SimulatorNeedsPillow as e:
        print(f"fundus-watchdog simulate: {e}", file=sys.stderr)
        return 2
    camera = Camera(
        args.out,
        db_path=args.db,
        mapping=mapping,
        chunk_size=args.chunk_size,
        chunk_delay=args.chunk_delay,
        image_size=(int(width), int(height)),
        seed=args.seed,
    )
    subjects = [s.strip() for s in args.subjects.split(",") if s.strip()] if args.subjects else []
    count = args.count if args.count is not None else (len(subjects) or 5)
    exams, used = [], set(subjects)
    try:
        n = 0
        while count == 0 or n < count:
            if n < len(subjects):
                subject = subjects[n]
            else:
                while (
                    subject := subject_identifiers(1, camera.rng, args.subject_prefix)[0]
                ) in used:
                    pass
                used.add(subject)
            report_type = args.report_type if args.report_type != "mixed" else REPORT_TYPES[n % 2]
            started = time.monotonic()
            exam = camera.examination(subject, report_type)
            exams.append(exam)
            print(
                f"{datetime.now():%H:%M:%S} wrote {subject} ({report_type}, {len(exam.files)} files)",
                flush=True,
            )
            if args.manifest:
                write_manifest(args.manifest, exams)
            n += 1
            if count == 0 or n < count:
                time.sleep(max(0.0, args.interval - (time.monotonic() - started)))
    except KeyboardInterrupt:
        print("stopped")
    return 0
