"""A viewable preview of a DICOM's first frame, made without numpy.

Fundus DICOMs carry either encapsulated JPEG frames (which Pillow decodes as they are) or raw
8/16-bit monochrome or RGB pixels (which Pillow can wrap directly). Anything else gets no
preview: the DICOM itself is still stored byte-exact.

A header may lie (a 1.5 kB file can claim 65535 × 65535 16-bit pixels), so nothing is allocated
before the declared geometry has been checked against the pixel cap that images have, and the
pixel data's length against that geometry; a JPEG frame's own size is read from its header and
checked before it is decoded.
"""

import io
import struct
import warnings
from dataclasses import dataclass

import pydicom
from PIL import Image as PILImage
from PIL import ImageOps
from pydicom.encaps import generate_frames
from pydicom.errors import InvalidDicomError
from pydicom.uid import JPEGBaseline8Bit, JPEGExtended12Bit, JPEGLossless, JPEGLosslessSV1

# Importing it sets Pillow's MAX_IMAGE_PIXELS: previews obey the same cap as uploaded images.
from fundushub.store import decoding  # noqa: F401

_JPEG_SYNTAXES = {JPEGBaseline8Bit, JPEGExtended12Bit, JPEGLossless, JPEGLosslessSV1}
# Raw layouts a preview can be made from: (samples per pixel, bits allocated).
_RAW_LAYOUTS = {(1, 8), (1, 16), (3, 8)}
# What a malformed file can make pydicom or Pillow raise; all of it means "no preview".
_BAD_FILE = (
    InvalidDicomError,
    AttributeError,
    KeyError,
    IndexError,
    TypeError,
    ValueError,
    NotImplementedError,
    OSError,
    EOFError,
    struct.error,
    PILImage.DecompressionBombError,
)


class NoPreview(Exception):
    """The DICOM is kept as it came, but no image can be shown for it; the message says why."""


@dataclass(frozen=True)
class Geometry:
    rows: int
    columns: int
    samples: int
    bits: int
    frames: int

    @property
    def pixels(self) -> int:
        return self.rows * self.columns

    @property
    def frame_bytes(self) -> int:
        return self.pixels * self.samples * (self.bits // 8)


def max_pixels() -> int:
    """The pixel cap of images (Pillow's, as set by fundushub.store.decoding)."""
    return int(PILImage.MAX_IMAGE_PIXELS)


def preview_png(fileobj) -> bytes:
    """PNG bytes of the first frame (lossless, no metadata), or NoPreview."""
    try:
        ds = pydicom.dcmread(fileobj, force=False)
        im = _first_frame(ds)
        out = io.BytesIO()
        im.save(out, "PNG")
    except NoPreview:
        raise
    except _BAD_FILE as e:
        raise NoPreview(f"unreadable DICOM: {e or e.__class__.__name__}"[:250]) from e
    return out.getvalue()


def _first_frame(ds) -> PILImage.Image:
    if "PixelData" not in ds:
        raise NoPreview("the DICOM has no pixel data")
    geometry = _geometry(ds)
    syntax = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None)
    if syntax is None:
        raise NoPreview("the DICOM does not say how its pixels are encoded (no transfer syntax)")
    if syntax.is_compressed:
        if syntax not in _JPEG_SYNTAXES:
            raise NoPreview(f"compressed pixel data ({syntax.name}) is not supported for previews")
        return _jpeg_frame(ds, geometry)
    return _raw_frame(ds, geometry)


def _int(ds, keyword: str, default: int | None = None) -> int:
    value = ds.get(keyword, default)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NoPreview(f"the DICOM's {keyword} is missing or not a number") from None


def _geometry(ds) -> Geometry:
    """The declared geometry, refused when it is empty or larger than an image may be."""
    g = Geometry(
        rows=_int(ds, "Rows"),
        columns=_int(ds, "Columns"),
        samples=_int(ds, "SamplesPerPixel", 1),
        bits=_int(ds, "BitsAllocated"),
        frames=_int(ds, "NumberOfFrames", 1),
    )
    if g.rows <= 0 or g.columns <= 0:
        raise NoPreview(f"the DICOM declares an empty image ({g.columns} × {g.rows} pixels)")
    if g.frames <= 0:
        raise NoPreview(f"the DICOM declares {g.frames} frames")
    if g.samples <= 0 or g.bits <= 0:
        raise NoPreview(f"the DICOM declares {g.samples} sample(s) of {g.bits} bits per pixel")
    _check_size(g.columns, g.rows, "the DICOM declares")
    return g


def _check_size(width: int, height: int, who: str) -> None:
    cap = max_pixels()
    if width * height > cap:
        raise NoPreview(
            f"{who} {width} × {height} pixels, more than the {cap:,} a preview may have"
        )


def _jpeg_frame(ds, g: Geometry) -> PILImage.Image:
    frame = next(generate_frames(ds.PixelData, number_of_frames=g.frames), None)
    if not frame:
        raise NoPreview("the DICOM's first frame is empty")
    try:
        with warnings.catch_warnings():
            # Checked below against the cap itself, which Pillow only warns about up to twice it.
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            im = PILImage.open(io.BytesIO(frame), formats=["JPEG"])  # lazy: reads the header only
    except PILImage.DecompressionBombError:
        raise NoPreview(
            f"the DICOM's JPEG frame has more than the {max_pixels():,} pixels a preview may have"
        ) from None
    _check_size(*im.size, "the DICOM's JPEG frame is")
    im.load()
    return im.convert("RGB") if im.mode not in ("L", "RGB") else im


def _raw_frame(ds, g: Geometry) -> PILImage.Image:
    if (g.samples, g.bits) not in _RAW_LAYOUTS:
        raise NoPreview(f"{g.samples} sample(s) of {g.bits} bits are not supported for previews")
    data = ds.PixelData
    declared = g.frame_bytes * g.frames
    if len(data) < declared:
        raise NoPreview(
            f"the DICOM's pixel data is shorter than its header declares "
            f"({len(data):,} bytes of {declared:,})"
        )
    size, frame = (g.columns, g.rows), data[: g.frame_bytes]
    if g.samples == 3:
        if _int(ds, "PlanarConfiguration", 0) == 1:
            plane = g.pixels
            planes = [
                PILImage.frombytes("L", size, frame[i * plane : (i + 1) * plane]) for i in range(3)
            ]
            return PILImage.merge("RGB", planes)
        return PILImage.frombytes("RGB", size, frame)
    if g.bits == 8:
        im = PILImage.frombytes("L", size, frame)
    else:
        raw = PILImage.frombytes("I;16" if ds.is_little_endian else "I;16B", size, frame)
        im = ImageOps.autocontrast(raw.convert("I").point(lambda v: v / 256).convert("L"))
    if ds.get("PhotometricInterpretation") == "MONOCHROME1":
        im = ImageOps.invert(im)
    return im
