"""Turn one received file into a stored image: decode, store bytes, then let the database decide.

The order keeps data safe: bytes are moved into content-addressed storage and the thumbnail is
written before any row refers to them; the unique constraint on (hospital, md5) decides
duplicates. The quota comes first: one unit is reserved by a conditional UPDATE (the database
decides, one file at a time, under any concurrency) before a byte moves, so a refused file leaves
nothing but its staging file, which is removed; a reservation whose file fails or turns out a
duplicate is given back. The item records that it holds one (quota_held), so a retry after a
dead worker neither takes a second nor loses the first.
"""

import logging

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from fundushub.accounts.models import User
from fundushub.audit.models import record
from fundushub.store import blobs
from fundushub.store.decoding import UndecodableImage
from fundushub.store.intake import decode_and_thumbnail, insert_or_existing
from fundushub.store.models import GradingStatus, Image
from fundushub.uploads.models import ItemState, UploadItem

log = logging.getLogger(__name__)

DUPLICATE = "Duplicate file"
QUOTA_EXCEEDED = "Upload quota exceeded"


class LostLease(Exception):
    """Another worker re-claimed this item after our lease ran out; its result stands."""


def _source_key(item: UploadItem) -> str | None:
    """Where the item's bytes are now: still staged, or already moved into place by a dead worker."""
    if item.staged_key and blobs.exists(item.staged_key):
        return item.staged_key
    key = blobs.original_key(item.sha256)
    return key if blobs.exists(key) else None


def _existing(job, md5: str):
    return Image.objects.filter(hospital_id=job.hospital_id, md5=md5).first()


def _hold_quota(item: UploadItem) -> bool:
    """Reserve one unit of the uploader's quota for this item; False when none is left."""
    if item.quota_held:
        return True  # reserved by an attempt whose worker died: still this item's
    user_id = item.job.user_id
    quota = User.objects.get(pk=user_id).effective_quota()
    with transaction.atomic():
        users = User.objects.filter(pk=user_id)
        if quota:
            users = users.filter(file_upload_count__lt=quota)
        if not users.update(file_upload_count=F("file_upload_count") + 1):
            return False
        if not _mine(item).update(quota_held=True):
            raise LostLease  # rolls the reservation back
    item.quota_held = True
    return True


def _give_back_quota(item: UploadItem) -> None:
    """Return the item's reservation (inside the caller's transaction), once and only if held."""
    if _mine(item).filter(quota_held=True).update(quota_held=False):
        give_back_quota_of(item.job.user_id, 1)
    item.quota_held = False


def give_back_held_quota(item_pks) -> None:
    """Items that ended without storing their file give back the quota they still hold."""
    held = UploadItem.objects.filter(pk__in=item_pks, quota_held=True)
    for pk, user_id in held.values_list("pk", "job__user_id"):
        if UploadItem.objects.filter(pk=pk, quota_held=True).update(quota_held=False):
            give_back_quota_of(user_id, 1)


def give_back_quota_of(user_id: int, n: int) -> None:
    User.objects.filter(pk=user_id).update(
        file_upload_count=Greatest(F("file_upload_count") - n, Value(0))
    )


def _mine(item: UploadItem):
    """The item, as long as this worker's claim on it stands (attempts is the fence)."""
    return UploadItem.objects.filter(pk=item.pk, state=ItemState.PROCESSING, attempts=item.attempts)


def _finish(item: UploadItem, state: str, detail: str = "", image=None) -> None:
    """Record the outcome, but only if this worker still holds the item (attempts is the fence)."""
    done = _mine(item).update(
        state=state, detail=detail, image=image, finished_at=timezone.now(), staged_key=""
    )
    if not done:
        raise LostLease


def _audit(action, item, image):
    job = item.job
    record(
        action,
        user=job.user,
        obj=image,
        ip=job.ip,
        user_agent=job.user_agent,
        job=str(job.id),
        filename=item.filename,
        md5=item.md5,
    )


def process_item(item: UploadItem) -> str:
    """Bring one claimed item to a terminal state; returns that state."""
    existing = _existing(item.job, item.md5)
    if existing is None and not _hold_quota(item):
        return _fail(item, QUOTA_EXCEEDED)  # before a byte moved
    try:
        return _store(item, existing)
    except BaseException:
        if item.quota_held:  # a retry reserves again; a worker that took the item over keeps it
            with transaction.atomic():
                _give_back_quota(item)
        raise


def _store(item: UploadItem, existing) -> str:
    if existing is None:
        source = _source_key(item)
        if source is None:
            return _fail(item, "The uploaded bytes were lost before processing; upload it again")
        try:
            decoded = decode_and_thumbnail(source, item.mime, item.sha256)
        except UndecodableImage as e:
            return _fail(item, f"Corrupt or unreadable image: {e}")
        if source != blobs.original_key(item.sha256):
            blobs.move_into_place(source, blobs.original_key(item.sha256))
    with transaction.atomic():
        image, created = _insert_image(item, decoded if existing is None else None, existing)
        if created:
            _finish(item, ItemState.COMPLETED, image=image)  # the reservation is now spent
            _audit("image.stored", item, image)
        else:  # stored first by another upload (maybe at this very moment): not counted
            _give_back_quota(item)
            _finish(item, ItemState.DUPLICATE, DUPLICATE, image=image)
            _audit("image.duplicate", item, image)
    _discard_staged(item)
    return ItemState.COMPLETED if created else ItemState.DUPLICATE


def _insert_image(item, decoded, existing):
    if existing is not None:
        return existing, False
    job = item.job
    return insert_or_existing(
        source=Image.Source.DIRECT,
        uploaded_by=job.user,
        hospital_id=job.hospital_id,
        lab_unit_id=job.lab_unit_id,
        camera_id=job.camera_id,
        disease_id=job.disease_id,
        area_id=job.area_id,
        mydriatic=job.mydriatic,
        # A duplicate keeps the stored image's status: only a new row takes the job's.
        grading_status=GradingStatus.PRE_GRADED if job.pre_graded else GradingStatus.UNGRADED,
        original_filename=item.filename,
        content_type=item.mime,
        size=item.size,
        width=decoded.width,
        height=decoded.height,
        md5=item.md5,
        sha256=item.sha256,
    )


def _fail(item: UploadItem, detail: str) -> str:
    with transaction.atomic():
        _give_back_quota(item)
        _finish(item, ItemState.ERROR, detail[:300])
    _discard_staged(item)
    return ItemState.ERROR


def _discard_staged(item: UploadItem) -> None:
    discard_staged(item.staged_key)


def discard_staged(staged_key: str) -> None:
    """Remove an item's staging file, if it has one left."""
    if staged_key and blobs.exists(staged_key):
        blobs.delete(staged_key)
