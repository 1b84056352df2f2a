"""Which eye a file name names: the camera watchdog's rule, for direct uploads.

The server may not import the watchdog (watchdog/src/fundus_watchdog/eyes.py), so its rule is
written again here, as tokens rather than its regular expression, with the same outcome: a spelling
counts only as a whole word, where a word is a run of letters, digits and combining marks of any
script (`_ - . space` and the like separate words). So `PHOTOS_OD` is right (not the OS in PHOTOS),
`BLEFT`, `R2023` and `Rétine_gauche` name no eye, and a UUID never does. Case is folded in ASCII
only (`oſ`, with a long s, is not OS). A name that names two different eyes names none: never
guessed. upload.js applies the same rule to show the eye in the file list.

One difference, because the catalogue has a "both eyes" area and the camera API has not: OU (both
eyes) is read as "both", where the watchdog refuses such a file.
"""

import unicodedata

LEFT, RIGHT, BOTH = "left", "right", "both"

SPELLINGS = {
    **dict.fromkeys(("L", "LE", "OS", "LEFT"), LEFT),
    **dict.fromkeys(("R", "RE", "OD", "RIGHT"), RIGHT),
    "OU": BOTH,
}


def normalise_eye(value) -> str | None:
    """'left', 'right', 'both', or None for anything else; case and spaces do not matter."""
    if value is None:
        return None
    text = "".join(str(value).split())
    if not text.isascii():
        return None
    return SPELLINGS.get(text.upper())


def _word_char(ch: str) -> bool:
    # A combining mark that did not compose still belongs to its letter's word.
    return ch.isalnum() or unicodedata.category(ch).startswith("M")


def words(stem: str) -> list[str]:
    """The runs of word characters in stem, in order."""
    found, current = [], []
    for ch in stem:
        if _word_char(ch):
            current.append(ch)
        elif current:
            found.append("".join(current))
            current = []
    if current:
        found.append("".join(current))
    return found


def stem_of(name: str) -> str:
    """The file name without its extension, NFC-composed (macOS names come decomposed)."""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return unicodedata.normalize("NFC", stem)


def eye_in_filename(name: str) -> str | None:
    """The eye a file name names by a standalone word, or None: none, or two different ones."""
    eyes = {normalise_eye(w) for w in words(stem_of(name)) if w.isascii()} - {None}
    return eyes.pop() if len(eyes) == 1 else None
