"""Decode an image fully (truncated or corrupt files fail here) and make its thumbnail.

One decode does both: JPEGs are decoded with draft() at reduced scale, which still reads every
byte of the entropy-coded data, so truncation is caught at a fraction of a full decode's cost.
"""

import io
import warnings
from dataclasses import dataclass

from PIL import Image as PILImage
from PIL import ImageOps

from fundushub.store.sniff import JPEG, PNG

# Fundus cameras reach ~24 MP; anything far beyond is a decompression bomb, not a photo.
PILImage.MAX_IMAGE_PIXELS = 80_000_000
_FORMATS = {JPEG: "JPEG", PNG: "PNG"}


class UndecodableImage(Exception):
    pass


@dataclass(frozen=True)
class Decoded:
    width: int
    height: int
    thumbnail: bytes


def decode_with_thumbnail(fileobj, mime: str, size: int) -> Decoded:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(fileobj, formats=[_FORMATS[mime]]) as im:
                width, height = im.size
                if mime == JPEG:
                    im.draft("RGB", (size, size))
                im.load()
                thumb = _thumbnail(im, size)
    except (OSError, SyntaxError, ValueError, PILImage.DecompressionBombError) as e:
        raise UndecodableImage(str(e) or e.__class__.__name__) from e
    except PILImage.DecompressionBombWarning as e:
        raise UndecodableImage(str(e)) from e
    return Decoded(width=width, height=height, thumbnail=thumb)


def _thumbnail(im, size: int) -> bytes:
    """A small JPEG with no metadata at all: only pixels are copied into a new image."""
    im = ImageOps.exif_transpose(im) if im.getexif() else im
    if im.mode not in ("RGB", "L"):
        im = im.convert("RGB")
    im.thumbnail((size, size), PILImage.Resampling.BILINEAR)
    clean = PILImage.new(im.mode, im.size)
    clean.paste(im)
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=82, optimize=False)
    return out.getvalue()
