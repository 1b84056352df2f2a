"""A viewable preview of a DICOM's first frame, made without numpy.

Fundus DICOMs carry either encapsulated JPEG frames (which Pillow decodes as they are) or raw
8/16-bit monochrome or RGB pixels (which Pillow can wrap directly). Anything else gets no
preview: the DICOM itself is still stored byte-exact.
"""

import io

import pydicom
from PIL import Image as PILImage
from PIL import ImageOps
from pydicom.encaps import generate_frames
from pydicom.errors import InvalidDicomError
from pydicom.uid import JPEGBaseline8Bit, JPEGExtended12Bit, JPEGLossless, JPEGLosslessSV1

_JPEG_SYNTAXES = {JPEGBaseline8Bit, JPEGExtended12Bit, JPEGLossless, JPEGLosslessSV1}


class NoPreview(Exception):
    pass


def preview_png(fileobj) -> bytes:
    """PNG bytes of the first frame (lossless, no metadata), or NoPreview."""
    try:
        ds = pydicom.dcmread(fileobj, force=False)
        im = _first_frame(ds)
    except (InvalidDicomError, AttributeError, KeyError, ValueError, OSError, EOFError) as e:
        raise NoPreview(str(e) or e.__class__.__name__) from e
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def _first_frame(ds) -> PILImage.Image:
    syntax = ds.file_meta.TransferSyntaxUID
    if syntax.is_compressed:
        if syntax not in _JPEG_SYNTAXES:
            raise ValueError(f"compressed pixel data ({syntax.name}) not supported for previews")
        frame = next(
            generate_frames(ds.PixelData, number_of_frames=int(ds.get("NumberOfFrames", 1)))
        )
        im = PILImage.open(io.BytesIO(frame))
        im.load()
        return im.convert("RGB") if im.mode not in ("L", "RGB") else im
    rows, cols = int(ds.Rows), int(ds.Columns)
    samples, bits = int(ds.get("SamplesPerPixel", 1)), int(ds.BitsAllocated)
    data = ds.PixelData
    if samples == 3 and bits == 8:
        size = rows * cols * 3
        if int(ds.get("PlanarConfiguration", 0)) == 1:
            planes = [
                PILImage.frombytes("L", (cols, rows), data[i * size // 3 : (i + 1) * size // 3])
                for i in range(3)
            ]
            return PILImage.merge("RGB", planes)
        return PILImage.frombytes("RGB", (cols, rows), data[:size])
    if samples == 1 and bits == 8:
        im = PILImage.frombytes("L", (cols, rows), data[: rows * cols])
    elif samples == 1 and bits == 16:
        mode = "I;16B" if not ds.is_little_endian else "I;16"
        raw = PILImage.frombytes(mode, (cols, rows), data[: rows * cols * 2])
        im = ImageOps.autocontrast(raw.convert("I").point(lambda v: v / 256).convert("L"))
    else:
        raise ValueError(f"{samples} sample(s) of {bits} bits are not supported for previews")
    if ds.get("PhotometricInterpretation") == "MONOCHROME1":
        im = ImageOps.invert(im)
    return im
