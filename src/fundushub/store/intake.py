"""Adding an image to the store, the one way both arrival paths (direct upload, camera) use.

Bytes first: decode the blob and write its thumbnail; then the row, where the database's unique
constraint on (hospital, md5) decides whether this is a new image or someone else's copy.
"""

from django.conf import settings
from django.db import IntegrityError, transaction

from fundushub.store import blobs
from fundushub.store.decoding import Decoded, decode_with_thumbnail
from fundushub.store.models import Image


def decode_and_thumbnail(key: str, mime: str, sha256: str) -> Decoded:
    """Decode the blob at key fully (raises UndecodableImage) and store its thumbnail."""
    with blobs.open_blob(key) as f:
        decoded = decode_with_thumbnail(f, mime, settings.FUNDUSHUB_THUMBNAIL_SIZE)
    # Always (re)written: an existing one may be an orphan the sweep is about to remove.
    blobs.write_bytes(blobs.thumbnail_key(sha256), decoded.thumbnail)
    return decoded


def insert_or_existing(**fields) -> tuple[Image, bool]:
    """(image, True) when the row was added; (the hospital's existing image, False) when the
    same bytes were stored for that hospital first — also by a concurrent request."""
    try:
        with transaction.atomic():
            return Image.objects.create(**fields), True
    except IntegrityError:
        return Image.objects.get(hospital_id=fields["hospital_id"], md5=fields["md5"]), False
