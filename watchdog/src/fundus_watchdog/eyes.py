"""Which eye a file shows: normalising the camera's spellings, and reading it from a file name."""

import re
import unicodedata

LEFT, RIGHT = "left", "right"
BOTH = "both"  # OU: a picture of both eyes is no one eye's image

_SPELLINGS = {
    **dict.fromkeys(("L", "LE", "OS", "LEFT"), LEFT),
    **dict.fromkeys(("R", "RE", "OD", "RIGHT"), RIGHT),
}

# A spelling standing alone as a word in Unicode terms: letters of any script and digits are word
# characters (`[^\W_]`), `_ - . space` are separators. So `PHOTOS_OD.dcm` is right (not the OS in
# PHOTOS), `Rétine_gauche.jpg` names no eye (R is glued to é), `R2023` and `20231105L` are serials,
# and UUID names never match. `(?ai:...)` folds case in ASCII only: `oſ` (long s) is not OS.
# Combining marks next to a match are refused in code (eye_in_filename): Python's \w has no \p{M}.
DEFAULT_EYE_FILENAME_REGEX = r"(?<![^\W_])(?P<eye>(?ai:left|right|od|os|ou|le|re|l|r))(?![^\W_])"

# Defaults of earlier versions, which `--create-config` wrote into config files: a file that still
# carries one gets the current default (the old one read `Rétine_gauche.jpg` as right).
PREVIOUS_EYE_FILENAME_REGEXES = {
    r"(?i)(?<![a-z])(?P<eye>left|right|od|os|le|re|l|r)(?![a-z])",
}


def normalise_eye(value) -> str | None:
    """'left', 'right', or None for anything else. Case- and space-insensitive: ' os ' is left."""
    if value is None:
        return None
    return _SPELLINGS.get(re.sub(r"\s+", "", str(value)).upper())


def _is_mark(stem: str, index: int) -> bool:
    return 0 <= index < len(stem) and unicodedata.category(stem[index]).startswith("M")


def eye_in_filename(name: str, pattern: re.Pattern) -> tuple[str | None, str]:
    """(eye, "") from a file name (extension excluded), or (None, why not) when it names no eye,
    both eyes (OU), or two different ones: never guessed."""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    stem = unicodedata.normalize("NFC", stem)  # a decomposed é (macOS names) is one letter
    tokens = []
    for match in pattern.finditer(stem):
        start, end = match.span("eye")
        if _is_mark(stem, start - 1) or _is_mark(stem, end):
            continue  # an accent that did not compose still belongs to its letter's word
        token = match.group("eye")
        eye = BOTH if token.strip().upper() == "OU" else normalise_eye(token)
        if eye and token not in tokens:
            tokens.append(token)
        if eye == BOTH:
            return None, f"the file name says both eyes ({token})"
    eyes = {normalise_eye(t) for t in tokens}
    if not eyes:
        return None, "no eye in the file name"
    if len(eyes) > 1:
        return None, f"the file name names both eyes ({', '.join(tokens)})"
    return eyes.pop(), ""


def eye_from_filename(name: str, pattern: re.Pattern) -> str | None:
    """The eye named in a file name, or None if absent, both eyes, or contradictory."""
    return eye_in_filename(name, pattern)[0]
