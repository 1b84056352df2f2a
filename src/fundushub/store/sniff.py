"""Recognise a file's type by its first bytes, never by its name or the client's word."""

JPEG = "image/jpeg"
PNG = "image/png"
ACCEPTED = {JPEG, PNG}
HEAD_SIZE = 512

_SIGNATURES = [
    (b"\xff\xd8\xff", JPEG),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"BM", "image/bmp"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"\x00\x00\x00\x0cjP  ", "image/jp2"),
]


def sniff(head: bytes) -> str:
    """The MIME type the content shows; 'application/octet-stream' when it shows none."""
    if not head:
        return "application/x-empty"
    for magic, mime in _SIGNATURES:
        if head.startswith(magic):
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "application/dicom"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"<!doctype html", b"<html")):
        return "text/html"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as e:
            # A multi-byte character cut at the end of the sample is still text.
            if e.start < len(head) - 4:
                return "application/octet-stream"
        return "text/plain"
    return "application/octet-stream"
