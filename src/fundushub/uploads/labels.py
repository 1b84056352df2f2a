"""Whose eye each uploaded file shows: the subject and the eye, per file, from what the form says.

Form fields (all optional: a form without them uploads as before, every file with the job's area
and no subject):
- subject_source: "typed" (subject, one for the batch), "filename" (read from each file name with
  subject_pattern, else FUNDUSHUB_SUBJECT_PATTERN), "manifest" (the CSV text in manifest), or
  "none". Without it, a typed subject means "typed".
- eye_from_name: on to read each file's eye from its name (lib/eyes.py, the watchdog's rule).
- file_subject, file_eye: one each per file, in the order of the files, for what was typed or
  chosen in the file list; blank leaves the file to the rules above. An eye is left, right, both
  or unknown.

A file's subject: its own, else the source's. Its eye: its own, else the manifest's, else its
name's (if asked), else the job's area. The browser works all this out to show it, but the server
takes nothing from it but what was typed or chosen, and checks that too.
"""

from dataclasses import dataclass, field

from django.conf import settings

from fundushub.catalog.models import Area
from fundushub.lib.eyes import eye_in_filename, stem_of
from fundushub.lib.subject_pattern import BadPattern, compile_pattern, subject_in_name
from fundushub.uploads.manifest import UNKNOWN, Row, parse_manifest
from fundushub.uploads.subjects import InvalidLabel, clean_subject

SOURCES = ("none", "typed", "filename", "manifest")
EYES = ("left", "right", "both", UNKNOWN)


@dataclass(frozen=True)
class Label:
    """What one item records: subject_identifier, area (None: the job's), eye_unknown."""

    subject_identifier: str = ""
    area_id: int | None = None
    eye_unknown: bool = False


@dataclass
class LabelForm:
    source: str = "none"
    subject: str = ""
    pattern: object = None  # a compiled re.Pattern when the source is "filename"
    manifest: dict[str, Row] = field(default_factory=dict)
    eye_from_name: bool = False
    file_subjects: list[str] = field(default_factory=list)
    file_eyes: list[str] = field(default_factory=list)

    def subjects_known_before_files(self) -> list[str]:
        """Every identifier the form names without looking at the files' names."""
        rows = [row.subject for row in self.manifest.values()]
        return [s for s in [self.subject, *self.file_subjects, *rows] if s]

    def label(self, position: int, name: str, areas: dict[str, int]) -> Label:
        row = self.manifest.get(name.lower()) if self.source == "manifest" else None
        subject = _at(self.file_subjects, position) or self._subject(name, row)
        eye = _at(self.file_eyes, position) or (row.eye if row else "")
        if not eye and self.eye_from_name:
            eye = eye_in_filename(name) or ""
        if eye and eye != UNKNOWN and eye not in areas:
            raise InvalidLabel(
                f"{name}: the reference data has no {eye!r} area; ask an administrator."
            )
        return Label(subject, areas.get(eye), eye == UNKNOWN)

    def _subject(self, name: str, row: Row | None) -> str:
        if self.source == "typed":
            return self.subject
        if self.source == "manifest":
            return row.subject if row else ""
        if self.source == "filename":
            return clean_subject(subject_in_name(stem_of(name), self.pattern), f"{name}: ")
        return ""


def _at(values: list[str], position: int) -> str:
    return values[position] if position < len(values) else ""


def _checked(raw) -> bool:
    return (raw or "").lower() in ("on", "true", "1", "yes")


def read_form(fields, complete: bool = True) -> LabelForm:
    """The form's subject and eye fields, checked; InvalidLabel says what is wrong.

    complete=False reads a form whose files (and maybe later fields) have not arrived yet: what is
    there is checked, what is missing is not yet an error.
    """
    form = LabelForm(eye_from_name=_checked(fields.get("eye_from_name")))
    typed = clean_subject(fields.get("subject"))
    source = (fields.get("subject_source") or "").strip() or ("typed" if typed else "none")
    if source not in SOURCES:
        raise InvalidLabel(f"The subject source must be one of: {', '.join(SOURCES)}.")
    form.source = source
    if source == "typed":
        if not typed and complete:
            raise InvalidLabel("Type the subject identifier for these images.")
        form.subject = typed
    elif source == "filename":
        raw = (fields.get("subject_pattern") or "").strip() or settings.FUNDUSHUB_SUBJECT_PATTERN
        try:
            form.pattern = compile_pattern(raw)
        except BadPattern as e:
            raise InvalidLabel(f"The subject pattern cannot be used: {e}.") from None
    elif source == "manifest":
        text = fields.get("manifest") or ""
        if text.strip():
            form.manifest = parse_manifest(text)
        elif complete:
            raise InvalidLabel("Add the manifest (a .csv file with the columns filename,subject).")
    form.file_subjects = [
        clean_subject(s, f"File {i + 1}: ") for i, s in enumerate(fields.getlist("file_subject"))
    ]
    form.file_eyes = [_eye(e, i) for i, e in enumerate(fields.getlist("file_eye"))]
    return form


def _eye(raw: str, index: int) -> str:
    value = (raw or "").strip().lower()
    if value and value not in EYES:
        raise InvalidLabel(f"File {index + 1}: the eye {value[:20]!r} is not {', '.join(EYES)}.")
    return value


def label_files(form: LabelForm, names: list[str]) -> list[Label]:
    """Each file's label, in order; InvalidLabel when the per-file fields do not fit the files."""
    for values, what in ((form.file_subjects, "subjects"), (form.file_eyes, "eyes")):
        if values and len(values) != len(names):
            raise InvalidLabel(
                f"The per-file {what} do not match the files: {len(values)} for "
                f"{len(names)} file{'s' if len(names) != 1 else ''}. Nothing was uploaded."
            )
    areas = dict(Area.objects.filter(code__in=EYES).values_list("code", "pk"))
    return [form.label(i, name, areas) for i, name in enumerate(names)]
