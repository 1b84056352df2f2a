"""Turn one received upload item into a stored image, through the store's one door
(store/intake.py, which owns the order of bytes and rows).

What stays here is the upload's own business: the uploader's quota, the item's lease and outcome,
and the audit. One unit of quota is reserved (accounts/quota.py) when the store admits a new
image, before a byte moves, so a refused file leaves nothing but its staging file, which is
removed; a reservation whose file fails or turns out a duplicate is given back. The item records
that it holds one (quota_held), so a retry after a dead worker neither takes a second nor loses
the first. The outcome commits in the same transaction as the image row.
"""

import logging

from django.db import transaction
from django.utils import timezone

from fundushub.accounts import quota
from fundushub.audit.models import record
from fundushub.checks.queue import check_when_stored
from fundushub.grading.examinations import file_image
from fundushub.lib.statelog import state_changed
from fundushub.store import blobs
from fundushub.store.intake import Incoming, LostBytes, Refused, UndecodableImage, add_image
from fundushub.store.models import GradingStatus, Image
from fundushub.uploads.models import ItemState, UploadItem

log = logging.getLogger(__name__)

DUPLICATE = "Duplicate file"
QUOTA_EXCEEDED = "Upload quota exceeded"


class LostLease(Exception):
    """Another worker re-claimed this item after our lease ran out; its result stands."""


def _hold_quota(item: UploadItem) -> bool:
    """Reserve one unit of the uploader's quota for this item; False when none is left."""
    if item.quota_held:
        return True  # reserved by an attempt whose worker died: still this item's
    with transaction.atomic():
        if not quota.reserve(item.job.user_id):
            return False
        if not _mine(item).update(quota_held=True):
            raise LostLease  # rolls the reservation back
    item.quota_held = True
    return True


def _give_back_quota(item: UploadItem) -> None:
    """Return the item's reservation (inside the caller's transaction), once and only if held."""
    if _mine(item).filter(quota_held=True).update(quota_held=False):
        quota.give_back(item.job.user_id)
    item.quota_held = False


def give_back_held_quota(item_pks) -> None:
    """Items that ended without storing their file give back the quota they still hold."""
    held = UploadItem.objects.filter(pk__in=item_pks, quota_held=True)
    for pk, user_id in held.values_list("pk", "job__user_id"):
        if UploadItem.objects.filter(pk=pk, quota_held=True).update(quota_held=False):
            quota.give_back(user_id)


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
    state_changed("upload_item", state, job_id=item.job_id, item_id=item.pk, attempt=item.attempts)


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
    """Bring one claimed item to a terminal state through the store's door; returns that state."""
    try:
        image, created = add_image(
            Incoming(item.sha256, item.md5, item.mime, item.size, key=item.staged_key),
            _fields(item),
            admit=lambda: _hold_quota(item),
            within=lambda image, created: _record(item, image, created),
        )
    except Refused:
        return _fail(item, QUOTA_EXCEEDED)  # before a byte moved
    except LostBytes:
        return _fail(item, "The uploaded bytes were lost before processing; upload it again")
    except UndecodableImage as e:
        return _fail(item, f"Corrupt or unreadable image: {e}")
    except BaseException:
        if item.quota_held:  # a retry reserves again; a worker that took the item over keeps it
            with transaction.atomic():
                _give_back_quota(item)
        raise
    _discard_staged(item)
    return ItemState.COMPLETED if created else ItemState.DUPLICATE


def _record(item: UploadItem, image, created: bool) -> None:
    """The item's outcome, committed with the image row (or with nothing, if the lease is lost)."""
    if created:
        _finish(item, ItemState.COMPLETED, image=image)  # the reservation is now spent
        _audit("image.stored", item, image)
        file_image(image, taken_at=image.created_at, brought_by_id=item.job.user_id)
        check_when_stored(image)
    else:  # stored first by another upload (maybe at this very moment): not counted
        _give_back_quota(item)
        _finish(item, ItemState.DUPLICATE, DUPLICATE, image=image)
        _audit("image.duplicate", item, image)


def _fields(item: UploadItem) -> dict:
    job = item.job
    return {
        "source": Image.Source.DIRECT,
        "uploaded_by": job.user,
        "hospital_id": job.hospital_id,
        "lab_unit_id": job.lab_unit_id,
        "camera_id": job.camera_id,
        "disease_id": job.disease_id,
        # The file's own subject and eye (uploads/labels.py), else the job's area; no area: unknown.
        "subject_identifier": item.subject_identifier,
        "area_id": item.area_id_for_image,
        "mydriatic": job.mydriatic,
        # A duplicate keeps the stored image's status: only a new row takes the job's.
        "grading_status": GradingStatus.PRE_GRADED if job.pre_graded else GradingStatus.UNGRADED,
        "original_filename": item.filename,
    }


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
