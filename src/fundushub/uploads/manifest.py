"""A CSV manifest dropped with the images: which subject (and eye) each file is.

The format (README, "Subjects and eyes"): UTF-8 text, a header row naming the columns `filename`
and `subject`, optionally `eye` (in any order, any case; other columns are ignored), separated by
commas or semicolons (as spreadsheets in many countries save CSV). One row per file, matched on
the file name alone, case-insensitively (Windows names). A blank subject or eye says nothing for
that file; an eye is left, right, both (or L, R, OS, OD, OU, ...) or unknown.

The page parses it to fill in the file list and sends its text with the files; the server parses
it again here, and this is what counts. It is bounded: MAX_BYTES of text, MAX_ROWS rows.
"""

import csv
import io
from dataclasses import dataclass

from fundushub.lib.eyes import normalise_eye
from fundushub.uploads.subjects import InvalidLabel, clean_subject

MAX_BYTES = 64_000
MAX_ROWS = 1000
UNKNOWN = "unknown"
UNKNOWN_SPELLINGS = {"unknown", "?", "-"}
COLUMNS = ("filename", "subject", "eye")


@dataclass(frozen=True)
class Row:
    subject: str
    eye: str  # "left", "right", "both", UNKNOWN, or "" (not given)


def eye_from_manifest(raw: str) -> str:
    value = raw.strip()
    if not value:
        return ""
    if value.lower() in UNKNOWN_SPELLINGS:
        return UNKNOWN
    eye = normalise_eye(value)
    if eye is None:
        raise ValueError(f"the eye {value[:20]!r} is not left, right, both or unknown")
    return eye


def _columns(header: list[str]) -> dict[str, int]:
    names = [h.strip().lower() for h in header]
    if "filename" not in names or "subject" not in names:
        raise InvalidLabel(
            "The manifest's first row must name its columns: filename,subject (and eye if any)."
        )
    return {c: names.index(c) for c in COLUMNS if c in names}


def _rows(text: str):
    first = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first and "," not in first else ","
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)


def parse_manifest(text: str) -> dict[str, Row]:
    """{lower-case file name: Row}, or InvalidLabel naming the line at fault."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise InvalidLabel(f"The manifest is too large (at most {MAX_BYTES // 1000} kB).")
    if "\x00" in text:
        raise InvalidLabel("The manifest is not text (it contains NUL characters).")
    reader = _rows(text.lstrip("\ufeff"))
    rows: dict[str, Row] = {}
    lines: dict[str, int] = {}
    try:
        columns = None
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            if columns is None:
                columns = _columns(record)
                continue
            if len(rows) == MAX_ROWS:
                raise InvalidLabel(f"The manifest has more than {MAX_ROWS} rows.")
            name, row = _row(record, columns, f"Manifest line {reader.line_num}: ")
            if name.lower() in rows:
                raise InvalidLabel(
                    f"Manifest line {reader.line_num}: {name} is listed twice "
                    f"(also on line {lines[name.lower()]})."
                )
            rows[name.lower()], lines[name.lower()] = row, reader.line_num
    except csv.Error as e:
        raise InvalidLabel(
            f"The manifest is not valid CSV (line {reader.line_num}: {e})."
        ) from None
    if columns is None:
        raise InvalidLabel("The manifest is empty.")
    return rows


def _row(record: list[str], columns: dict[str, int], where: str) -> tuple[str, Row]:
    def cell(column):
        i = columns.get(column)
        return record[i] if i is not None and i < len(record) else ""

    name = cell("filename").strip()
    if not name:
        raise InvalidLabel(f"{where}no file name.")
    if len(name) > 255:
        raise InvalidLabel(f"{where}the file name is longer than 255 characters.")
    try:
        eye = eye_from_manifest(cell("eye"))
    except ValueError as e:
        raise InvalidLabel(f"{where}{e}.") from None
    return name, Row(clean_subject(cell("subject"), where), eye)
