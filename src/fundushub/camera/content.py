"""Does a camera file's content match the type it is sent as? Checked on the first bytes only."""

import re

from fundushub.camera.models import DICOM_TYPES, IMAGE_TYPES
from fundushub.store.sniff import ACCEPTED

# A report may begin with a BOM, whitespace, an XML declaration, comments or a <meta> tag.
_HTML_START = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*"
    rb"(?:<!doctype\s+html|<html|<head|<meta|<body|<title)",
    re.IGNORECASE | re.DOTALL,
)


def is_html(head: bytes) -> bool:
    return bool(_HTML_START.match(head))


def matches(file_type: str, mime: str, head: bytes) -> bool:
    if file_type in IMAGE_TYPES:
        return mime in ACCEPTED
    if file_type in DICOM_TYPES:
        return head[128:132] == b"DICM"
    return head.startswith(b"%PDF-") or is_html(head)
