"""Subject identifiers on direct uploads: what one may look like, and the registry's word on it.

Identifiers come typed, out of file names, or out of a manifest: all pass clean_subject, and all
of a batch are checked at once against the hospital's subject registry, when it keeps one
(grading/subjects.py: the camera app answers there). An upload naming a subject the registry does
not know is refused as a whole, before its files are accepted when the identifiers come before
the files (the page sends them so), and with nothing kept when they are only known afterwards.
"""

import re

from fundushub.grading.subjects import unknown_subjects

MAX_LENGTH = 50  # images.Image.subject_identifier, camera.Subject.subject_identifier
# Letters and digits of any script, "-", "_" and "."; a letter or digit first. No spaces or "/":
# an identifier is a URL path segment in the camera API.
IDENTIFIER = re.compile(r"[^\W_][\w.-]*")
SHOWN = 10  # unknown identifiers named in a refusal; the rest are counted


class InvalidLabel(ValueError):
    """str(error) is the message for the person uploading."""


def clean_subject(raw, where: str = "") -> str:
    """The identifier without surrounding spaces ("" for none), or InvalidLabel saying why not."""
    value = str(raw or "").strip()
    if not value:
        return ""
    if len(value) > MAX_LENGTH or not IDENTIFIER.fullmatch(value):
        shown = value if len(value) <= 60 else value[:60] + "…"
        raise InvalidLabel(
            f"{where}The subject {shown!r} is not a valid identifier: use at most {MAX_LENGTH} "
            'letters, digits, "-", "_" or ".", starting with a letter or digit.'
        )
    return value


def registry_refusal(hospital, identifiers) -> str:
    """The message refusing an upload whose subjects the hospital's registry does not know;
    "" when it knows them all or keeps no registry."""
    identifiers = [i for i in identifiers if i]
    if not identifiers:  # an upload without subjects asks nothing (as before subjects existed)
        return ""
    unknown = unknown_subjects(hospital.pk, identifiers)
    if not unknown:
        return ""
    named = ", ".join(unknown[:SHOWN])
    more = f" and {len(unknown) - SHOWN} more" if len(unknown) > SHOWN else ""
    noun = "subject is" if len(unknown) == 1 else "subjects are"
    return (
        f"Not uploaded: {len(unknown)} {noun} not in the subject registry of {hospital.name}: "
        f"{named}{more}. Check the identifiers, or register the subjects first."
    )
