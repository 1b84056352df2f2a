"""Subject folders and what is in them: which file is which, and whether an examination is ready.

Readiness is judged by eye, not by count: two JPEGs of the same eye are not "both eyes", and a
file whose eye is unknown is never guessed at (it is reported and keeps the folder from being
archived, so nothing is silently dropped).
"""

from dataclasses import dataclass, field
from pathlib import Path

from .camera_db import SubjectRecord
from .config import STATE_DIRNAME, Config
from .eyes import LEFT, RIGHT, eye_in_filename, normalise_eye

PROCESSED, REJECTED = "processed", "rejected"
RESERVED_FOLDERS = {PROCESSED, REJECTED, STATE_DIRNAME}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}
DICOM_SUFFIXES = {".dcm"}
REPORT_SUFFIXES = {".html", ".htm", ".pdf"}
MAX_SUBJECT_LENGTH = 50


def kind_of(path: Path) -> str | None:
    """'image', 'dicom', 'report', or None for files the watchdog leaves alone."""
    name = path.name
    if name.startswith((".", "~")) or name.lower() in ("thumbs.db", "desktop.ini"):
        return None  # hidden files, Office/camera temp files
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in DICOM_SUFFIXES:
        return "dicom"
    if suffix in REPORT_SUFFIXES:
        return "report"
    return None


def subject_identifier(folder_name: str, config: Config) -> str | None:
    if folder_name in RESERVED_FOLDERS or folder_name.startswith((".", "$")):
        return None
    match = config.subject_pattern.match(folder_name)
    if not match or not match.group("subject_identifier"):
        return None
    subject = match.group("subject_identifier").strip()
    if not subject or len(subject) > MAX_SUBJECT_LENGTH or "/" in subject:
        return None
    return subject


def subject_folders(config: Config) -> list[Path]:
    """Folders in the watch folder that name a subject (archive, rejected and state folders excluded)."""
    try:
        entries = sorted(config.watch_dir.iterdir())
    except OSError:
        return []
    return [p for p in entries if p.is_dir() and subject_identifier(p.name, config)]


def subject_folder_of(path: Path, config: Config) -> Path | None:
    """The subject folder an event path belongs to (the first level below the watch folder)."""
    try:
        relative = Path(path).relative_to(config.watch_dir)
    except ValueError:
        return None
    if not relative.parts:
        return None
    folder = config.watch_dir / relative.parts[0]
    return folder if subject_identifier(relative.parts[0], config) else None


def candidate_files(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if kind_of(p) and p.is_file())
    except OSError:
        return []


@dataclass
class PlannedFile:
    path: Path
    file_type: str  # the API's file_type
    source: str  # how its eye was found: "camera database", "file name", or "" (no eye needed)


@dataclass
class Plan:
    uploads: list[PlannedFile] = field(default_factory=list)
    unmapped: list[tuple[Path, str]] = field(default_factory=list)  # (file, why)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # left out on purpose
    missing: list[str] = field(default_factory=list)  # what readiness still waits for

    @property
    def ready(self) -> bool:
        return not self.missing

    def types(self) -> set[str]:
        return {f.file_type for f in self.uploads}


def _eye(path: Path, record: SubjectRecord, config: Config) -> tuple[str | None, str, str]:
    """(eye, source, why-not) for one file: camera database first, then the file name."""
    raw = record.eye_value(path.name)
    eye = normalise_eye(raw)
    if eye:
        return eye, "camera database", ""
    eye, why = eye_in_filename(path.name, config.eye_pattern)
    if eye:
        return eye, "file name", ""
    if raw is not None:
        return None, "", f"the camera database says eye {raw!r}, which is not a known spelling"
    if config.db_path is None:
        return None, "", f"{why} (and no camera database configured)"
    return None, "", f"no row in the camera database and {why}"


def plan_examination(files: list[Path], record: SubjectRecord, config: Config) -> Plan:
    """Classify every file and say what the examination still lacks."""
    plan = Plan()
    has_dicom = any(kind_of(p) == "dicom" for p in files)
    for path in files:
        kind = kind_of(path)
        if kind == "image" and has_dicom and not config.include_jpgs:
            plan.skipped.append(
                (path, "the folder has DICOM images (use --include-jpgs to send these too)")
            )
            continue
        if kind == "report" and config.report_type == "combined":
            plan.uploads.append(PlannedFile(path, "report", ""))
            continue
        eye, source, why = _eye(path, record, config)
        if eye is None:
            plan.unmapped.append((path, why))
            continue
        file_type = {"image": eye, "dicom": f"{eye}_dicom", "report": f"{eye}_report"}[kind]
        plan.uploads.append(PlannedFile(path, file_type, source))

    types = plan.types()
    for eye in (LEFT, RIGHT):
        if not types & {eye, f"{eye}_dicom"}:
            plan.missing.append(f"{eye} image")
    if config.require_html:
        wanted = ["report"] if config.report_type == "combined" else ["left_report", "right_report"]
        plan.missing += [t.replace("_", " ") for t in wanted if t not in types]
    return plan
