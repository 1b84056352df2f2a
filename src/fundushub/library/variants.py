"""The edited variant of an image: made from the untouched original, stored beside it, undone.

Bytes first: the variant PNG and its thumbnail are written durably before the row points at them.
The row is changed by a conditional update that re-checks the grading status (a grade recorded
meanwhile wins) and the variant it replaces (two editors at once: the second is told, not lost).
A replaced variant's blobs are removed after the update, when no other row uses them; a crash in
between leaves an orphan for the storage sweep, never a row without its bytes.
"""

import hashlib
import io

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from PIL import Image as PILImage

from fundushub.audit.models import record
from fundushub.library import editing
from fundushub.library.deletion import remove_unreferenced
from fundushub.store import blobs
from fundushub.store.decoding import _thumbnail
from fundushub.store.models import GradingStatus, Image

LOCKED = "Editing is not allowed for pre-graded or graded images"
CHANGED = "Someone else changed this image's edit meanwhile; reload the editor and try again."
UNREADABLE = "The original could not be read from storage; nothing was saved. Try again later."
NOTHING = "There are no changes to save (to go back to the original, use Restore original)."


class EditRefused(Exception):
    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def open_original(image: Image) -> PILImage.Image:
    """The original, decoded from its blob, which is only ever opened for reading."""
    with blobs.open_blob(image.original_key) as f:
        im = PILImage.open(io.BytesIO(f.read()), formats=["JPEG", "PNG"])
        im.load()
    return im


def upright_size(image: Image) -> tuple[int, int]:
    """The original's size as shown (EXIF orientation applied): the strokes' coordinate space."""
    try:
        with blobs.open_blob(image.original_key) as f:
            with PILImage.open(f, formats=["JPEG", "PNG"]) as im:
                orientation = im.getexif().get(0x0112, 1)
    except OSError:  # unreadable now: saving will say so; the page can still be shown
        orientation = 1
    swapped = orientation in (5, 6, 7, 8)
    return (image.height, image.width) if swapped else (image.width, image.height)


def render(image: Image, ops: dict) -> bytes:
    return editing.encode_png(editing.apply(open_original(image), ops))


def save_edit(image: Image, raw: bytes, user, request=None) -> Image:
    """Validate the operations, make the variant from the original, and point the row at it."""
    if image.is_locked_for_editing:
        raise EditRefused(LOCKED, 409)
    try:
        ops = editing.parse(raw, *upright_size(image))
    except editing.InvalidOperations as e:
        raise EditRefused(str(e), 400) from e
    if editing.is_identity(ops):
        raise EditRefused(NOTHING, 400)
    try:
        original = open_original(image)
    except OSError as e:
        raise EditRefused(UNREADABLE, 503) from e
    edited = editing.apply(original, ops)
    png = editing.encode_png(edited)
    sha = hashlib.sha256(png).hexdigest()
    # Always (re)write: a blob about to be swept as an orphan must not be taken as present.
    blobs.write_bytes(blobs.edited_key(sha), png)
    # (_thumbnail shrinks the image it is given: the PNG has been made from it already.)
    thumb = _thumbnail(edited, settings.FUNDUSHUB_THUMBNAIL_SIZE)
    blobs.write_bytes(blobs.thumbnail_key(sha), thumb)
    before = _point_at(
        image,
        {
            "edited_sha256": sha,
            "edit_operations": ops,
            "edited_at": timezone.now(),
            "edited_by": user,
        },
        "image.edited",
        user,
        request,
        operations=ops,
    )
    transaction.on_commit(lambda: _after_commit(before, sha, png, thumb))
    return image


def restore_original(image: Image, user, request=None) -> bool:
    """Drop the edited variant; False when there was none."""
    if image.is_locked_for_editing:
        raise EditRefused(LOCKED, 409)
    before = image.edited_sha256
    if not before:
        return False
    fields = {"edited_sha256": "", "edit_operations": {}, "edited_at": None, "edited_by": None}
    _point_at(image, fields, "image.restored", user, request)
    transaction.on_commit(lambda: release(before))
    return True


def _point_at(image: Image, fields: dict, action: str, user, request, **audit) -> str:
    """Point the row at a new variant (or none), audited; returns the variant it replaced."""
    before = image.edited_sha256
    with transaction.atomic():
        _update_or_refuse(image, before, fields)
        record(
            action,
            request=request,
            user=user,
            obj=image,
            before={"edited_sha256": before or None, "operations": image.edit_operations or None},
            after={"edited_sha256": fields["edited_sha256"] or None},
            **audit,
        )
    for name, value in fields.items():
        setattr(image, name, value)
    return before


def _update_or_refuse(image: Image, before: str, fields: dict) -> None:
    changed = Image.objects.filter(
        pk=image.pk, grading_status=GradingStatus.UNGRADED, edited_sha256=before
    ).update(**fields)
    if changed:
        return
    current = Image.objects.filter(pk=image.pk).values("grading_status").first()
    if current is None or current["grading_status"] != GradingStatus.UNGRADED:
        raise EditRefused(LOCKED, 409)
    raise EditRefused(CHANGED, 409)


def _after_commit(before: str, sha: str, png: bytes, thumb: bytes) -> None:
    # A concurrent release of an identical variant elsewhere may have just removed these bytes.
    for key, data in ((blobs.edited_key(sha), png), (blobs.thumbnail_key(sha), thumb)):
        if not blobs.exists(key):
            blobs.write_bytes(key, data)
    if before and before != sha:
        release(before)


def release(sha: str) -> None:
    """Remove a variant's blobs unless another row still uses them (identical edits of identical
    originals share a variant; a thumbnail key may also be an original's own thumbnail)."""
    if sha:
        remove_unreferenced({"originals": set(), "edited": {sha}, "thumbs": {sha}})
