"""How a stored file leaves the site: named by its checked type, and inert whatever it contains.

The uploader's extension is never trusted (`poly.html` holding a JPEG comes back as `poly.jpg`);
the extension comes from the type the bytes were sniffed as. Media responses carry a policy under
which nothing in them can run, even when opened on their own in a tab.
"""

import unicodedata

from fundushub.lib.headers import PERMISSIONS_POLICY

EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "application/dicom": ".dcm",
    "application/pdf": ".pdf",
    "text/html": ".html",
    "text/plain": ".txt",
}
UNKNOWN_EXTENSION = ".bin"
MAX_BASE = 120

# A file opened directly runs nothing, loads nothing, and is treated as from an opaque origin.
# (Inline style only because the browser's own image viewer centres the picture with it.)
MEDIA_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def readable_base(name: str, fallback: str = "image", extension: bool = True) -> str:
    """The uploader's name without its extension (when `extension`: a file name, not a title),
    control characters, path separators and surrounding dots."""
    stem = name.rsplit(".", 1)[0] if extension and "." in name.lstrip(".") else name
    stem = "".join(c for c in stem if unicodedata.category(c)[0] != "C")
    stem = stem.replace("/", "_").replace("\\", "_").strip(" .")
    return stem[:MAX_BASE].strip(" .") or fallback


def download_name(base: str, content_type: str) -> str:
    """`<base><extension of the stored type>`, e.g. ("poly", "image/jpeg") -> "poly.jpg"."""
    return f"{base}{EXTENSIONS.get(content_type, UNKNOWN_EXTENSION)}"


def inert(response):
    """Mark a media response so a browser runs nothing in it (attachment or not)."""
    response["Content-Security-Policy"] = MEDIA_CSP
    response["Permissions-Policy"] = PERMISSIONS_POLICY
    response["X-Content-Type-Options"] = "nosniff"
    return response
