"""Which eye a file shows: normalising the camera's spellings, and reading it from a file name."""

import re

LEFT, RIGHT = "left", "right"

_SPELLINGS = {
    **dict.fromkeys(("L", "LE", "OS", "LEFT"), LEFT),
    **dict.fromkeys(("R", "RE", "OD", "RIGHT"), RIGHT),
}

# A token standing alone between non-letters: `PHOTOS_OD.dcm` is right (OD), not left (the OS in
# PHOTOS), and UUID names never match (hex digits contain no l, r or o).
DEFAULT_EYE_FILENAME_REGEX = r"(?i)(?<![a-z])(?P<eye>left|right|od|os|le|re|l|r)(?![a-z])"


def normalise_eye(value) -> str | None:
    """'left', 'right', or None for anything else. Case- and space-insensitive: ' os ' is left."""
    if value is None:
        return None
    return _SPELLINGS.get(re.sub(r"\s+", "", str(value)).upper())


def eye_from_filename(name: str, pattern: re.Pattern) -> str | None:
    """The eye named in a file name (extension excluded), or None if absent or contradictory."""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    found = {normalise_eye(m.group("eye")) for m in pattern.finditer(stem)} - {None}
    return found.pop() if len(found) == 1 else None
