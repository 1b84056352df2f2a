"""The one door into the image store: both ways in (direct upload, camera) add images through here.

`add_image` runs the whole protocol, always in this order:

1. existence, by the unique key (hospital, md5): a copy of a stored image touches no bytes;
2. admission: the caller's own check before any byte moves (the uploader's quota);
3. full decode: a truncated or corrupt file stops here and nothing is stored;
4. thumbnail, written durably;
5. original, moved (or written) durably into its content-addressed place;
6. insert-or-existing, in one transaction with the caller's bookkeeping: the unique constraint,
   not step 1, decides a race, so a competing insert lands here as "existing".

Bytes are durable before any row refers to them, so a crash between any two steps leaves either
nothing or files without rows (`sweep_storage` removes those), never a row without its bytes.
Steps 4 and 5 are idempotent: a retry after a dead worker redoes them harmlessly, finding its
bytes at the staged key or already in place.
"""

import io
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction

from fundushub.store import blobs
from fundushub.store.decoding import Decoded, UndecodableImage, decode_with_thumbnail
from fundushub.store.models import Image

__all__ = ["Incoming", "Refused", "LostBytes", "UndecodableImage", "add_image"]


class Refused(Exception):
    """The caller's admission check said no (step 2); nothing was stored."""


class LostBytes(Exception):
    """The file's bytes are neither staged nor in place: nothing can be stored."""


@dataclass(frozen=True)
class Incoming:
    """A file on its way in: where its bytes are now (a staged key, or already its original key)
    or the bytes themselves (a DICOM's preview), with the digests computed as they arrived."""

    sha256: str
    md5: str
    mime: str
    size: int
    key: str = ""
    data: bytes | None = None

    @property
    def original_key(self) -> str:
        return blobs.original_key(self.sha256)

    def source_key(self) -> str:
        """Where the bytes are now: still staged, or already in place (moved by a dead worker).
        On S3 a move is a copy then a delete; after a crash between the two, the staged copy is
        taken again, and copying it over the identical original is harmless."""
        if self.key and blobs.exists(self.key):
            return self.key
        if blobs.exists(self.original_key):
            return self.original_key
        raise LostBytes("The bytes were lost before they were stored")


def add_image(
    incoming: Incoming,
    fields: dict,
    *,
    admit: Callable[[], bool] | None = None,
    within: Callable[[Image, bool], None] | None = None,
) -> tuple[Image, bool]:
    """Add a file to the store: (the new image, True), or (the hospital's image of the same
    bytes, False). fields: the row's metadata (hospital_id required; the file's own columns are
    filled from incoming). admit() runs before any byte moves for a new image; False refuses it.
    within(image, created) runs in the transaction that inserts the row, so the caller's records
    commit with it or not at all. Raises Refused, UndecodableImage or LostBytes."""
    existing = _existing(fields["hospital_id"], incoming.md5)
    if existing is None:
        if admit is not None and not admit():
            raise Refused()
        source = None if incoming.data is not None else incoming.source_key()  # looked up once
        decoded = _decode_and_thumbnail(incoming, source)
        _put_original(incoming, source)
    with transaction.atomic():
        if existing is None:
            image, created = insert_or_existing(**_row(incoming, decoded, fields))
        else:
            image, created = existing, False
        if within is not None:
            within(image, created)
    return image, created


def _existing(hospital_id, md5: str) -> Image | None:
    return Image.objects.filter(hospital_id=hospital_id, md5=md5).first()


def _decode_and_thumbnail(incoming: Incoming, source: str | None) -> Decoded:
    if source is None:
        return _thumbnailed(io.BytesIO(incoming.data), incoming.mime, incoming.sha256)
    return decode_and_thumbnail(source, incoming.mime, incoming.sha256)


def _put_original(incoming: Incoming, source: str | None) -> None:
    """Step 5. Always done, even when the blob exists (same bytes under another hospital): an
    existing one may be an orphan the sweep is about to remove, and this makes it fresh."""
    if source is None:
        blobs.write_bytes(incoming.original_key, incoming.data)
    elif source != incoming.original_key:  # else already in place: a camera file, or a retry
        blobs.move_into_place(source, incoming.original_key)


def _row(incoming: Incoming, decoded: Decoded, fields: dict) -> dict:
    return {
        **fields,
        "content_type": incoming.mime,
        "size": incoming.size,
        "width": decoded.width,
        "height": decoded.height,
        "md5": incoming.md5,
        "sha256": incoming.sha256,
    }


def decode_and_thumbnail(key: str, mime: str, sha256: str) -> Decoded:
    """Decode the blob at key fully (raises UndecodableImage) and store its thumbnail durably."""
    with blobs.open_blob(key) as f:
        return _thumbnailed(f, mime, sha256)


def _thumbnailed(f, mime: str, sha256: str) -> Decoded:
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
