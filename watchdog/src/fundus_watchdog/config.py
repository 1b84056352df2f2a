"""Settings: defaults, then the JSON file, then the environment, then command-line flags.

One table (OPTIONS) names every setting once; the CLI flags, the validation and the commented
sample that `--create-config` writes are all derived from it.
"""

import functools
import json
import os
import re
import sys
from dataclasses import dataclass, fields
from pathlib import Path

from .eyes import DEFAULT_EYE_FILENAME_REGEX, PREVIOUS_EYE_FILENAME_REGEXES

CONFIG_FILENAME = "camera_config.json"
TOKEN_ENV = "FUNDUS_CAMERA_WATCHDOG_TOKEN"
CONFIG_ENV = "FUNDUS_CAMERA_WATCHDOG_CONFIG"
STATE_DIRNAME = ".fundus-watchdog"  # inside the watch folder; scans skip it
REPORT_TYPES = ("combined", "per_eye")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# The subject identifier is the folder name up to the first underscore or space:
# `105-10-0989-3` and `105-10-0989-3_` are the same subject.
DEFAULT_SUBJECT_FOLDER_REGEX = r"^(?P<subject_identifier>[^_\s]+)"
PLACEHOLDER_TOKENS = {"YOUR_DRF_TOKEN", "YOUR_TOKEN"}
_SQL_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


class ConfigError(Exception):
    """The settings cannot be used; `problems` says why, one line each."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Option:
    key: str
    kind: str  # str, path, int, float, bool, choice, identifier, regex
    default: object
    help: str
    section: str = "optional"  # required / optional / database / advanced
    choices: tuple = ()
    zero_ok: bool = False  # a number that may be 0 (else it must be greater than 0)


OPTIONS = [
    Option("watch_dir", "path", None, "Folder the camera writes subject subfolders to.", "required"),
    Option("db_path", "path", None,
           'Path to the camera\'s SQLite database ("" if there is none: eyes then come from file names).',
           "required"),
    Option("api_url", "str", None, "Base URL of the EDC server (e.g. https://edc.example.com).", "required"),
    Option("token", "str", None,
           f"DRF authentication token for the camera user (or set {TOKEN_ENV} instead).", "required"),
    Option("device_id", "str", "", "Identifier for this camera (sent to the server with each session)."),
    Option("site_id", "str", "", "Study site identifier."),
    Option("report_type", "choice", "combined",
           "combined: one HTML covers both eyes; per_eye: one HTML per eye.", choices=REPORT_TYPES),
    Option("log_level", "choice", "INFO", "One of DEBUG, INFO, WARNING, ERROR.", choices=LOG_LEVELS),
    Option("db_patient_table", "identifier", "patients", "Table containing patient demographics", "database"),
    Option("db_patient_subject_id", "identifier", "subject_identifier", "Column for subject identifier", "database"),
    Option("db_patient_initials", "identifier", "initials", "Column for initials", "database"),
    Option("db_patient_sex", "identifier", "sex", "Column for sex (M/F)", "database"),
    Option("db_patient_age", "identifier", "age", "Column for age in years", "database"),
    Option("db_image_table", "identifier", "images", "Table mapping files to eyes", "database"),
    Option("db_image_subject_id", "identifier", "subject_identifier", "Column for subject identifier", "database"),
    Option("db_image_filename", "identifier", "filename", "Column for UUID filename", "database"),
    Option("db_image_eye", "identifier", "eye", "Column for eye laterality", "database"),
    Option("subject_folder_regex", "regex", DEFAULT_SUBJECT_FOLDER_REGEX,
           "Regex on a subfolder's name; its named group subject_identifier is the subject.", "advanced"),
    Option("eye_filename_regex", "regex", DEFAULT_EYE_FILENAME_REGEX,
           "Regex with a named group eye, used when the camera database has no row for a file.", "advanced"),
    Option("include_jpgs", "bool", False,
           "Also upload JPEG/PNG images from folders that contain DICOM (.dcm) images.", "advanced"),
    Option("require_html", "bool", True,
           "Wait for the HTML report(s) before uploading (false = images alone are enough).", "advanced"),
    Option("journal_path", "path", None,
           f"The watchdog's own journal (SQLite). Default: <watch_dir>/{STATE_DIRNAME}/journal.sqlite3",
           "advanced"),
    Option("log_file", "path", None,
           f'Rotating log file ("" for none). Default: <watch_dir>/{STATE_DIRNAME}/watchdog.log', "advanced"),
    Option("lock_file", "path", None,
           f"Single-instance lock file. Default: <watch_dir>/{STATE_DIRNAME}/watchdog.lock", "advanced"),
    Option("stable_seconds", "float", 5.0,
           "A file is used once its size and modification time have not changed for this long.", "advanced"),
    Option("stability_timeout", "float", 30.0,
           "Warn about a file still changing after this long (it is still not uploaded).", "advanced"),
    Option("sweep_interval", "float", 60.0, "Seconds between full rescans of the watch folder.", "advanced"),
    Option("retries", "int", 3, "Attempts per API call before the subject is retried later.", "advanced"),
    Option("retry_delay", "float", 5.0, "First delay between attempts (doubles, with jitter).", "advanced"),
    Option("max_retry_delay", "float", 60.0, "Longest single wait between attempts.", "advanced"),
    Option("failure_backoff_max", "float", 1800.0,
           "Longest wait before retrying a subject that keeps failing.", "advanced"),
    Option("request_timeout", "float", 60.0, "Seconds to wait for the server on each request.", "advanced"),
    Option("workers", "int", 4, "Subjects uploaded at the same time.", "advanced"),
    Option("polling", "bool", False,
           "Rescan every 2 s instead of using OS file events (for network drives that send none).",
           "advanced"),
    Option("checks_wait", "float", 20.0,
           "After an examination is complete, wait up to this many seconds for the server's image"
           " checks (blur, eye, copies, text) and log a sentence per flagged image (0: no wait).",
           "advanced", zero_ok=True),
]  # fmt: skip
OPTION_BY_KEY = {o.key: o for o in OPTIONS}


@dataclass(frozen=True)
class Config:
    watch_dir: Path
    db_path: Path | None
    api_url: str
    token: str
    device_id: str = ""
    site_id: str = ""
    report_type: str = "combined"
    log_level: str = "INFO"
    db_patient_table: str = "patients"
    db_patient_subject_id: str = "subject_identifier"
    db_patient_initials: str = "initials"
    db_patient_sex: str = "sex"
    db_patient_age: str = "age"
    db_image_table: str = "images"
    db_image_subject_id: str = "subject_identifier"
    db_image_filename: str = "filename"
    db_image_eye: str = "eye"
    subject_folder_regex: str = DEFAULT_SUBJECT_FOLDER_REGEX
    eye_filename_regex: str = DEFAULT_EYE_FILENAME_REGEX
    include_jpgs: bool = False
    require_html: bool = True
    journal_path: Path | None = None
    log_file: Path | None = None
    lock_file: Path | None = None
    stable_seconds: float = 5.0
    stability_timeout: float = 30.0
    sweep_interval: float = 60.0
    retries: int = 3
    retry_delay: float = 5.0
    max_retry_delay: float = 60.0
    failure_backoff_max: float = 1800.0
    request_timeout: float = 60.0
    workers: int = 4
    polling: bool = False
    checks_wait: float = 20.0

    @property
    def state_dir(self) -> Path:
        return self.watch_dir / STATE_DIRNAME

    @functools.cached_property
    def subject_pattern(self) -> re.Pattern:
        return re.compile(self.subject_folder_regex)

    @functools.cached_property
    def eye_pattern(self) -> re.Pattern:
        return re.compile(self.eye_filename_regex)


def read_config_file(path: Path) -> dict:
    """The JSON settings; whole-line `//` comments are allowed (the sample is commented)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # Notepad may add a BOM
    except OSError as exc:
        raise ConfigError([f"cannot read config file {path}: {exc.strerror or exc}"]) from exc
    lines = ["" if line.lstrip().startswith("//") else line for line in text.splitlines()]
    try:
        data = json.loads("\n".join(lines))
    except json.JSONDecodeError as exc:
        raise ConfigError(
            [
                f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
                " (on Windows write a backslash in a path as \\\\)"
            ]
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError([f"{path} must contain one JSON object {{...}}"])
    return data


def find_config_file(cwd: Path | None = None, environ=os.environ) -> Path | None:
    """The first config that exists: $FUNDUS_CAMERA_WATCHDOG_CONFIG, ./camera_config.json,
    then the machine-wide and per-user settings folders."""
    if environ.get(CONFIG_ENV):
        return Path(environ[CONFIG_ENV])
    candidates = [Path(cwd or Path.cwd()) / CONFIG_FILENAME]
    if sys.platform == "win32":
        for var in ("PROGRAMDATA", "APPDATA"):
            if environ.get(var):
                candidates.append(Path(environ[var]) / "fundus-watchdog" / CONFIG_FILENAME)
    else:
        home = Path(environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
        candidates += [
            home / "fundus-watchdog" / CONFIG_FILENAME,
            Path("/etc/fundus-watchdog") / CONFIG_FILENAME,
        ]
    return next((p for p in candidates if p.is_file()), None)


def _coerce(option: Option, value, problems: list[str]):
    key, kind = option.key, option.kind
    if kind == "path":
        if value is None or str(value).strip() == "":
            return None
        return Path(os.path.expandvars(str(value))).expanduser()
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "yes", "1", "on"):
            return True
        if text in ("false", "no", "0", "off"):
            return False
        problems.append(f"{key} must be true or false, not {value!r}")
        return option.default
    if kind in ("int", "float"):
        try:
            number = int(value) if kind == "int" else float(value)
        except (TypeError, ValueError):
            problems.append(f"{key} must be a number, not {value!r}")
            return option.default
        if number < 0 or (number == 0 and not option.zero_ok):
            least = "0 or more" if option.zero_ok else "greater than 0"
            problems.append(f"{key} must be {least}, not {value!r}")
            return option.default
        return number
    text = "" if value is None else str(value).strip()
    if kind == "choice":
        normal = text.upper() if key == "log_level" else text.lower()
        if normal not in option.choices:
            problems.append(f"{key} must be one of {', '.join(option.choices)}, not {value!r}")
            return option.default
        return normal
    if kind == "identifier" and not _SQL_IDENTIFIER.fullmatch(text):
        problems.append(
            f"{key} must be a plain SQL table/column name (letters, digits, _), not {value!r}"
        )
        return option.default
    if kind == "regex":
        group = "subject_identifier" if key == "subject_folder_regex" else "eye"
        try:
            if group not in re.compile(text).groupindex:
                problems.append(f"{key} must contain a named group (?P<{group}>...)")
                return option.default
        except re.error as exc:
            problems.append(f"{key} is not a valid regular expression: {exc}")
            return option.default
    return text


def build_config(file_values: dict | None = None, flags: dict | None = None, environ=os.environ):
    """Config from file values, environment and flags (later wins); (config, warnings).

    Raises ConfigError listing every problem at once, so an operator fixes them in one go."""
    merged = {o.key: o.default for o in OPTIONS}
    warnings = []
    for key, value in (file_values or {}).items():
        if key.startswith("_"):  # "_comment" keys are notes for people
            continue
        if key not in OPTION_BY_KEY:
            warnings.append(f"unknown setting {key!r} in the config file is ignored")
            continue
        merged[key] = value
    if environ.get(TOKEN_ENV):
        merged["token"] = environ[TOKEN_ENV]
    merged.update({k: v for k, v in (flags or {}).items() if v is not None})
    if merged["eye_filename_regex"] in PREVIOUS_EYE_FILENAME_REGEXES:
        merged["eye_filename_regex"] = DEFAULT_EYE_FILENAME_REGEX
        warnings.append(
            "eye_filename_regex is an earlier version's default, which misread accented names"
            " (Rétine_gauche.jpg as right): the current default is used; delete that line"
        )

    problems = []
    values = {o.key: _coerce(o, merged[o.key], problems) for o in OPTIONS}
    for option in OPTIONS:
        if option.section == "required" and option.key != "db_path" and not values[option.key]:
            flag = "--" + option.key.replace("_", "-")
            problems.append(f"{option.key} is required (in the config file or as {flag})")
    if merged["db_path"] is None:  # "" is allowed: a camera without a database
        problems.append('db_path is required (the camera database; "" if the camera has none)')
    if values["token"] in PLACEHOLDER_TOKENS:
        problems.append(
            "token is still the placeholder from the sample: paste the token of the camera user"
        )
    url = values["api_url"] or ""
    if url and not re.match(r"https?://[^/\s]+", url):
        problems.append(f"api_url must start with https:// or http://, not {url!r}")
    values["api_url"] = url.rstrip("/")
    if url.startswith("http://") and not re.match(r"http://(localhost|127\.|\[::1\])", url):
        warnings.append(
            "api_url uses http://: the token and images travel unencrypted; use https://"
        )
    if problems:
        raise ConfigError(problems)

    state = values["watch_dir"] / STATE_DIRNAME
    values["journal_path"] = values["journal_path"] or state / "journal.sqlite3"
    values["lock_file"] = values["lock_file"] or state / "watchdog.lock"
    log_given = merged["log_file"] is not None
    values["log_file"] = values["log_file"] if log_given else state / "watchdog.log"
    return Config(**values), warnings


def load_config(path: Path | None, flags: dict | None = None, environ=os.environ):
    """(config, warnings, path used) from a file (or the auto-discovered one) plus env and flags."""
    path = Path(path) if path else find_config_file(environ=environ)
    file_values = read_config_file(path) if path else {}
    config, warnings = build_config(file_values, flags, environ)
    return config, warnings, path


def config_fields() -> list[str]:
    return [f.name for f in fields(Config)]


def sample_config() -> str:
    """A commented camera_config.json: the document's example plus every optional setting."""
    example = {
        "watch_dir": "C:\\RetCamOutput",
        "db_path": "C:\\RetCamOutput\\camera.db",
        "api_url": "https://edc.example.com",
        "token": "YOUR_DRF_TOKEN",
        "device_id": "RET-CAM-001",
        "site_id": "40",
    }
    lines = [
        "// fundus-watchdog settings. Lines starting with // are comments.",
        "// Command-line flags override these values; the token may come from the",
        f"// environment variable {TOKEN_ENV} instead of this file.",
        "// Check the settings with:  fundus-watchdog check --config camera_config.json",
        "{",
    ]
    titles = {
        "required": "Required",
        "optional": "Optional",
        "database": "Camera database mapping (see: sqlite3 camera.db .tables .schema patients .schema images)",
        "advanced": "Advanced (the defaults suit most sites)",
    }
    entries = []  # (comment lines, "key": value)
    for section, title in titles.items():
        heading = [f"  // --- {title} ---"]
        for option in (o for o in OPTIONS if o.section == section):
            if option.key in ("journal_path", "log_file", "lock_file"):
                continue  # their defaults live inside watch_dir; see --help
            value = example.get(option.key, option.default)
            entries.append(
                (
                    heading + [f"  // {option.help}"],
                    f"  {json.dumps(option.key)}: {json.dumps(value)}",
                )
            )
            heading = []
    for i, (comments, line) in enumerate(entries):
        lines += comments
        lines.append(line + ("," if i < len(entries) - 1 else ""))
    lines.append("}")
    return "\n".join(lines) + "\n"
