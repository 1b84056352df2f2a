"""Turn one received file into a stored image: decode, store bytes, then let the database decide.

The order keeps data safe: bytes are moved into content-addressed storage and the thumbnail is
written before any row refers to them; the unique constraint on (hospital, md5) decides
duplicates; the quota is reserved by a conditional UPDATE, one file at a time.
"""

import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from fundushub.accounts.models import User
from fundushub.audit.models import record
from fundushub.images import blobs
from fundushub.images.decoding import UndecodableImage
from fundushub.images.models import GradingStatus, Image
from fundushub.images.store import decode_and_thumbnail, insert_or_existing
from fundushub.uploads.models import ItemState, UploadItem

log = logging.getLogger(__name__)

DUPLICATE = "Duplicate file"
QUOTA_EXCEEDED = "Upload quota exceeded"


class QuotaExceeded(Exception):
    pass


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


def _reserve_quota(user: User) -> None:
    quota = User.objects.get(pk=user.pk).effective_quota()
    users = User.objects.filter(pk=user.pk)
    if quota:
        users = users.filter(file_upload_count__lt=quota)
    if not users.update(file_upload_count=F("file_upload_count") + 1):
        raise QuotaExceeded


def _finish(item: UploadItem, state: str, detail: str = "", image=None) -> None:
    """Record the outcome, but only if this worker still holds the item (attempts is the fence)."""
    done = UploadItem.objects.filter(
        pk=item.pk, state=ItemState.PROCESSING, attempts=item.attempts
    ).update(state=state, detail=detail, image=image, finished_at=timezone.now(), staged_key="")
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
    job = item.job
    existing = _existing(job, item.md5)
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
    try:
        with transaction.atomic():
            image, created = _insert_image(item, decoded if existing is None else None, existing)
            if created:
                _reserve_quota(job.user)
                _finish(item, ItemState.COMPLETED, image=image)
                _audit("image.stored", item, image)
            else:
                _finish(item, ItemState.DUPLICATE, DUPLICATE, image=image)
                _audit("image.duplicate", item, image)
    except QuotaExceeded:
        return _fail(item, QUOTA_EXCEEDED)
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
        _finish(item, ItemState.ERROR, detail[:300])
    _discard_staged(item)
    return ItemState.ERROR


def _discard_staged(item: UploadItem) -> None:
    if item.staged_key and blobs.exists(item.staged_key):
        blobs.delete(item.staged_key)
