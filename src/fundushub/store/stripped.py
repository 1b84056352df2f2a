"""Served copies without embedded metadata, made by dropping bytes, never by re-encoding pixels.

JPEG: segments are copied byte-exact, except that APP1 (Exif, XMP), APP13 (IPTC/Photoshop), COM
and every other APPn are dropped; kept are APP0 JFIF (without its embedded thumbnail), APP2
ICC_PROFILE (colour) and APP14 Adobe (the colour transform). The entropy-coded data after each SOS
is copied untouched; whatever follows EOI (trailing garbage, MPF second pictures) is dropped.
PNG: critical chunks and the colour chunks are kept; text, time, eXIf and unknown ancillary
chunks are dropped.

The one fact carried over is an EXIF orientation other than "normal", as a new EXIF block holding
that single tag: thumbnails, the editor and the browser show images upright, and must agree on it.
A file this parser cannot follow (it decoded at upload, so this is rare) is served as a lossless
PNG of its pixels instead: pixel-identical, and still without metadata.
"""

import io
import re
import struct
import zlib
from dataclasses import dataclass

from PIL import Image as PILImage
from PIL import ImageOps

from fundushub.store.sniff import JPEG, PNG

ORIENTATION = 0x0112
_EXIF = b"Exif\x00\x00"
_XMP = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_ORIENTATION = re.compile(rb'tiff:Orientation(="|>)([0-9])')  # as Pillow reads it

# JPEG
_SOI, _EOI, _SOS, _APP0, _APP1, _APP2, _APP14, _COM = 0xD8, 0xD9, 0xDA, 0xE0, 0xE1, 0xE2, 0xEE, 0xFE
_RST = range(0xD0, 0xD8)
_TEM = 0x01

# PNG
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_ANCILLARY_KEPT = {b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"pHYs"}
_PNG_METADATA = {b"eXIf", b"tEXt", b"zTXt", b"iTXt"}
_PNG_CRITICAL = {b"IHDR", b"PLTE", b"IDAT", b"IEND"}
# Only an orientation is read out of compressed text: more than this is not an EXIF/XMP packet
# worth inflating (and a small file must not inflate into gigabytes).
_MAX_INFLATED = 1 << 20


class MalformedImage(ValueError):
    """The bytes do not follow the format closely enough to strip them safely."""


@dataclass(frozen=True)
class Cleaned:
    data: bytes
    content_type: str


def clean_copy(data: bytes, content_type: str) -> Cleaned:
    """The copy to serve: stripped byte-exact, or (when unparseable) a lossless PNG of the pixels."""
    try:
        return Cleaned(strip(data, content_type), content_type)
    except MalformedImage:
        return Cleaned(pixels_png(data), PNG)


def strip(data: bytes, content_type: str) -> bytes:
    if content_type == JPEG:
        return strip_jpeg(data)
    if content_type == PNG:
        return strip_png(data)
    raise MalformedImage(f"not a JPEG or PNG: {content_type}")


def pixels_png(data: bytes) -> bytes:
    """The pixels alone, upright, as a lossless PNG (only the ICC profile is carried over)."""
    try:
        with PILImage.open(io.BytesIO(data), formats=["JPEG", "PNG"]) as im:
            im.load()
            icc = im.info.get("icc_profile")
            upright = ImageOps.exif_transpose(im)
    except (OSError, SyntaxError, ValueError) as e:
        raise MalformedImage(str(e)) from e
    if upright.mode == "CMYK":
        upright, icc = upright.convert("RGB"), None
    clean = upright.copy()
    # Only what the pixels need survives: transparency and the colour profile.
    kept = {"transparency": upright.info.get("transparency"), "icc_profile": icc}
    clean.info = {k: v for k, v in kept.items() if v is not None}
    out = io.BytesIO()
    clean.save(out, "PNG", compress_level=3)
    return out.getvalue()


def exif_orientation_only(orientation: int) -> bytes:
    """A big-endian TIFF block with one IFD holding one tag: Orientation."""
    ifd = struct.pack(">HHHIHH", 1, ORIENTATION, 3, 1, orientation, 0) + struct.pack(">I", 0)
    return b"MM\x00\x2a" + struct.pack(">I", 8) + ifd


def _orientation_of_exif(block: bytes) -> int | None:
    exif = PILImage.Exif()
    try:
        exif.load(block)
    except Exception:  # a broken EXIF block: Pillow's own readers ignore it too
        return None
    return exif.get(ORIENTATION)


def _orientation_of_xmp(xmp: bytes) -> int | None:
    match = _XMP_ORIENTATION.search(xmp)
    return int(match[2]) if match else None


def _upright(exif_value, xmp_value) -> int:
    # EXIF wins when it has the tag; XMP is the fallback (as Pillow's getexif() reads them).
    value = exif_value if exif_value is not None else xmp_value
    return value if isinstance(value, int) and 2 <= value <= 8 else 1


# ---- JPEG ----


def strip_jpeg(data: bytes) -> bytes:
    if data[:2] != b"\xff\xd8":
        raise MalformedImage("no JPEG start-of-image marker")
    out = [data[:2]]
    jfif_first = None
    exif_value = xmp_value = None
    pos = 2
    while found := _next_marker(data, pos):
        start, at = found
        marker = data[at + 1]
        if marker == _EOI:
            out.append(data[start : at + 2])
            break  # anything after EOI is dropped
        if marker == 0x00:  # a stuffed zero outside a scan is not a marker
            pos = at + 2
            continue
        if marker in _RST or marker == _TEM:  # standalone markers: no length
            out.append(data[start : at + 2])
            pos = at + 2
            continue
        if marker == _SOI:
            raise MalformedImage("a second start-of-image marker")
        end = _segment_end(data, at)
        if marker == _SOS:
            scan_end = _entropy_end(data, end)
            out.append(data[start:scan_end])
            pos = scan_end
            continue
        if 0xE0 <= marker <= 0xEF or marker == _COM:
            payload = data[at + 4 : end]
            if jfif_first is None:
                jfif_first = marker == _APP0 and payload.startswith(b"JFIF\x00")
            if marker == _APP1 and payload.startswith(_EXIF) and exif_value is None:
                exif_value = _orientation_of_exif(payload) or 0  # 0: EXIF seen, no tag
            elif marker == _APP1 and payload.startswith(_XMP):
                xmp_value = _orientation_of_xmp(payload[len(_XMP) :])
            kept = _kept_app_segment(marker, payload, data[start:end])
            if kept:
                out.append(kept)
            pos = end
            continue
        if jfif_first is None:
            jfif_first = False
        out.append(data[start:end])
        pos = end
    orientation = _upright(exif_value or None, xmp_value)
    if orientation != 1:
        out.insert(2 if jfif_first else 1, _exif_segment(orientation))
    return b"".join(out)


def _next_marker(data: bytes, pos: int) -> tuple[int, int] | None:
    """(start, at) of the next marker from `pos`: `start` is its first 0xFF, `at` the 0xFF just
    before the marker code; None when the data ends first."""
    # Decoders skip stray bytes between segments; so do we (they are not kept).
    start = data.find(b"\xff", pos)
    if start < 0:
        return None
    at, n = start, len(data)
    while at + 1 < n and data[at + 1] == 0xFF:  # fill bytes before a marker
        at += 1
    if at + 1 >= n:
        return None
    return start, at


def _segment_end(data: bytes, at: int) -> int:
    """Where the segment whose marker code is at `at + 1` ends, by its length field."""
    if at + 4 > len(data):
        raise MalformedImage("cut off in a segment header")
    length = int.from_bytes(data[at + 2 : at + 4], "big")
    end = at + 2 + length
    if length < 2 or end > len(data):
        raise MalformedImage("a segment runs past the end of the file")
    return end


def _exif_segment(orientation: int) -> bytes:
    """An APP1 segment with an EXIF block holding only the orientation."""
    block = _EXIF + exif_orientation_only(orientation)
    return b"\xff\xe1" + (len(block) + 2).to_bytes(2, "big") + block


def _kept_app_segment(marker: int, payload: bytes, raw: bytes) -> bytes | None:
    if marker == _APP0 and payload.startswith(b"JFIF\x00") and len(payload) >= 14:
        if len(payload) == 14 and payload[12] == payload[13] == 0:
            return raw
        # Version, units and density kept; the embedded thumbnail dropped.
        return b"\xff\xe0\x00\x10" + payload[:12] + b"\x00\x00"
    if marker == _APP2 and payload.startswith(b"ICC_PROFILE\x00"):
        return raw
    if marker == _APP14 and payload.startswith(b"Adobe") and len(payload) >= 12:
        # Only the 12 bytes of the Adobe header (version, flags, colour transform).
        return b"\xff\xee\x00\x0e" + payload[:12]
    return None


def _entropy_end(data: bytes, pos: int) -> int:
    """Where a scan's entropy-coded data ends: at the first 0xFF that starts a real marker.
    0xFF 0x00 is a stuffed data byte and RSTn belongs inside the scan; both are data here."""
    n = len(data)
    while True:
        i = data.find(b"\xff", pos)
        if i < 0:
            return n
        j = i + 1
        while j < n and data[j] == 0xFF:
            j += 1
        if j >= n:
            return i
        if data[j] == 0x00 or data[j] in _RST:
            pos = j + 1
            continue
        return i


# ---- PNG ----


def strip_png(data: bytes) -> bytes:
    if not data.startswith(_PNG_SIGNATURE):
        raise MalformedImage("no PNG signature")
    out = [_PNG_SIGNATURE]
    exif_value = xmp_value = None
    pos, n = len(_PNG_SIGNATURE), len(data)
    while pos < n:
        if pos + 12 > n:
            raise MalformedImage("cut off in a chunk header")
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if length > 0x7FFFFFFF or end > n:
            raise MalformedImage("a chunk runs past the end of the file")
        if not kind[0] & 0x20 and kind not in _PNG_CRITICAL:
            # An unknown "critical" chunk could carry anything: serve a pixel-only copy instead.
            raise MalformedImage(f"unknown critical chunk {kind!r}")
        if kind in _PNG_CRITICAL or kind in _PNG_ANCILLARY_KEPT:
            out.append(data[pos:end])
        elif kind == b"eXIf" and exif_value is None:
            exif_value = _orientation_of_exif(data[pos + 8 : end - 4]) or 0
        elif kind in _PNG_METADATA:
            key, text = _png_text(kind, data[pos + 8 : end - 4])
            if key == b"Raw profile type exif" and exif_value is None:
                exif_value = _orientation_of_raw_profile(text) or 0
            elif key == b"XML:com.adobe.xmp":
                xmp_value = _orientation_of_xmp(text)
        pos = end
        if kind == b"IEND":
            break  # anything after IEND is dropped
    orientation = _upright(exif_value or None, xmp_value)
    if orientation != 1:
        out.insert(2, _png_chunk(b"eXIf", exif_orientation_only(orientation)))  # after IHDR
    return b"".join(out)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return len(body).to_bytes(4, "big") + kind + body + crc.to_bytes(4, "big")


def _png_text(kind: bytes, body: bytes) -> tuple[bytes, bytes]:
    """(keyword, text) of a tEXt/zTXt/iTXt chunk, only to read an orientation out of it."""
    key, _, rest = body.partition(b"\x00")
    if key not in (b"Raw profile type exif", b"XML:com.adobe.xmp"):
        return key, b""
    if kind == b"zTXt":
        return key, _inflate(rest[1:])
    if kind == b"iTXt":
        compressed, rest = rest[:1] == b"\x01", rest[2:]
        text = rest.split(b"\x00", 2)[-1]  # after language and translated keyword
        return key, _inflate(text) if compressed else text
    return key, rest


def _inflate(data: bytes) -> bytes:
    """At most _MAX_INFLATED bytes of zlib data; b"" when it is more, or not zlib at all."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, _MAX_INFLATED)
    except zlib.error:
        return b""
    return b"" if inflater.unconsumed_tail else out


def _orientation_of_raw_profile(text: bytes) -> int | None:
    # ImageMagick's hex dump: "\nexif\n    <size>\n<hex lines>" (as Pillow decodes it).
    try:
        block = bytes.fromhex("".join(text.decode("latin-1").split("\n")[3:]))
    except ValueError:
        return None
    return _orientation_of_exif(block)
