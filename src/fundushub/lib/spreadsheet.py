"""CSV cells a spreadsheet opens safely: text that would run as a formula is prefixed with a quote."""

import unicodedata

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe(value) -> str:
    """A cell as text, defused if a spreadsheet would read it as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    # Spreadsheets read compatibility forms (full-width "＝", small "﹢") as the plain character,
    # and skip leading spaces before a formula: check the normalised, unindented text.
    looks_like = unicodedata.normalize("NFKC", text).lstrip(" ")
    return "'" + text if looks_like.startswith(FORMULA_START) else text


class Echo:
    """A file-like object whose write returns what it is given: csv.writer rows as strings,
    for a StreamingHttpResponse."""

    def write(self, value):
        return value
