"""Small DICOM files built with pydicom, including ones whose headers lie about their size."""

import io
import struct

from PIL import Image as PILImage
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    ExplicitVRLittleEndian,
    JPEGBaseline8Bit,
    SecondaryCaptureImageStorage,
    generate_uid,
)

_OMIT = object()


def build(
    rows=4,
    columns=6,
    samples=1,
    bits=8,
    frames=None,
    pixel_data=_OMIT,
    syntax=ExplicitVRLittleEndian,
    photometric=None,
    **extra,
) -> bytes:
    """A DICOM file with exactly the header given; pixel data defaults to what the header declares."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = syntax
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "OP"
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = samples
    ds.BitsAllocated = ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    ds.PhotometricInterpretation = photometric or ("RGB" if samples == 3 else "MONOCHROME2")
    if samples == 3:
        ds.PlanarConfiguration = 0
    if frames is not None:
        ds.NumberOfFrames = frames
    for keyword, value in extra.items():
        setattr(ds, keyword, value)
    if pixel_data is _OMIT:
        pixel_data = gradient(rows * columns * samples * (bits // 8) * (frames or 1))
    if pixel_data is not None:
        ds.PixelData = pixel_data
        ds["PixelData"].VR = "OB" if bits == 8 or syntax.is_compressed else "OW"
        if syntax.is_compressed:
            ds["PixelData"].is_undefined_length = True
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def gradient(n: int) -> bytes:
    return bytes(i % 251 for i in range(n))


def jpeg(size=(24, 16), mode="RGB", claim=None) -> bytes:
    """A real small JPEG; claim=(width, height) rewrites its frame header to say it is that big."""
    out = io.BytesIO()
    PILImage.new(mode, size, "teal" if mode == "RGB" else 90).save(out, "JPEG")
    data = out.getvalue()
    if claim is None:
        return data
    sof = data.index(b"\xff\xc0")  # baseline frame header: marker, length, precision, height, width
    return data[: sof + 5] + struct.pack(">HH", claim[1], claim[0]) + data[sof + 9 :]


def jpeg_dicom(frame: bytes, rows=16, columns=24, frames=1, samples=3) -> bytes:
    return build(
        rows=rows,
        columns=columns,
        samples=samples,
        frames=frames,
        pixel_data=encapsulate([frame] * frames),
        syntax=JPEGBaseline8Bit,
        photometric="YBR_FULL_422" if samples == 3 else None,
    )


def bomb(side=65535, bits=16) -> bytes:
    """The issue's probe: a tiny file whose header claims side × side pixels of `bits` bits."""
    return build(rows=side, columns=side, bits=bits, pixel_data=gradient(1024))
