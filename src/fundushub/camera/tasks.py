"""Camera images join the shared image store: decoded, thumbnailed and deduplicated per hospital.

left/right files are stored as they are; a DICOM joins as a lossless PNG preview of its first
frame (the DICOM itself stays stored byte-exact as the camera file).

Every file ends in a terminal state: stored, undecodable, no preview, or an error after
FUNDUSHUB_MAX_ATTEMPTS attempts (an unexpected failure and a worker that died both count).
"""

import hashlib
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from fundushub.camera.dicom import NoPreview, preview_png
from fundushub.camera.models import DICOM_TYPES, CameraFile
from fundushub.catalog.models import Area
from fundushub.checks.queue import check_when_stored
from fundushub.grading.examinations import file_image
from fundushub.lib.statelog import state_changed
from fundushub.lib.tasks import failure_reason, gave_up, task_waiting
from fundushub.store import blobs
from fundushub.store.intake import Incoming, UndecodableImage, add_image
from fundushub.store.models import Image
from fundushub.store.sniff import PNG

log = logging.getLogger(__name__)
TASK_PATH = "fundushub.camera.tasks.ingest_camera_image"


def _incoming(record: CameraFile) -> Incoming:
    """The bytes that become the store's image: the camera file itself, already in place, or a
    DICOM's preview."""
    if record.file_type not in DICOM_TYPES:
        return Incoming(
            record.sha256, record.md5, record.mime, record.size, key=record.stored_filename
        )
    with blobs.open_blob(blobs.original_key(record.sha256)) as f:
        png = preview_png(f)
    sha = hashlib.sha256(png).hexdigest()
    md5 = hashlib.md5(png, usedforsecurity=False).hexdigest()
    return Incoming(sha, md5, PNG, len(png), data=png)


@task()
def ingest_camera_image(file_id: int) -> str:
    record = _claim(file_id)
    if record is None:
        return "already done"
    try:
        image, _ = add_image(_incoming(record), _fields(record), within=_filer(record))
    except UndecodableImage as e:
        log.warning("Camera file %s has no viewable image: %s", record.pk, e)
        return _finish(record, "undecodable", f"Corrupt or unreadable image: {e}")
    except NoPreview as e:
        log.warning("Camera file %s gets no preview: %s", record.pk, e)
        return _finish(record, "no_preview", f"No preview: {e}")
    except Exception as e:
        log.exception("Camera file %s failed (attempt %d)", record.pk, record.image_attempts)
        return _failed(record, e)
    return _finish(record, "stored", image=image)


def _filer(record: CameraFile):
    """Files the image into its visit's examination, in the image row's transaction, and queues
    a new image's checks for when that transaction commits."""
    device = record.device or record.session.device

    def within(image, created):
        file_image(
            image,
            taken_at=record.capture_datetime,
            brought_by_id=device.user_id if device else None,
        )
        if created:
            check_when_stored(image)

    return within


def _claim(file_id: int) -> CameraFile | None:
    """Hold a pending file for one lease; None if it is done or a live worker holds it."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.FUNDUSHUB_ITEM_LEASE_SECONDS)
    free = Q(image_lease_until=None) | Q(image_lease_until__lt=now)
    pending = CameraFile.objects.filter(pk=file_id, image_state="pending")
    if not pending.filter(free).update(image_lease_until=lease):
        return None
    return pending.select_related("session__subject", "device").first()


def _finish(record: CameraFile, state: str, detail: str = "", image=None) -> str:
    """Record a terminal state, unless another worker has already finished the file."""
    if CameraFile.objects.filter(pk=record.pk, image_state="pending").update(
        image_state=state, image_detail=detail[:300], image=image, image_lease_until=None
    ):
        _changed(record, state)
    return state


def _changed(record: CameraFile, state: str) -> None:
    state_changed(
        "camera_image",
        state,
        session_id=record.session_id,
        file_id=record.pk,
        device_id=record.device_id,
        attempt=record.image_attempts,
    )


def _failed(record: CameraFile, e: Exception) -> str:
    """An unexpected failure is an attempt: the last one ends the file as an error, in words.

    Before that the lease is left to run out, and the reaper queues the file again then.
    """
    reason = failure_reason(e)
    if record.image_attempts >= settings.FUNDUSHUB_MAX_ATTEMPTS:
        return _finish(record, "error", gave_up(record.image_attempts, reason))
    if CameraFile.objects.filter(pk=record.pk, image_state="pending").update(
        image_detail=f"Attempt {record.image_attempts} failed: {reason}"[:300]
    ):
        _changed(record, "failed")  # still pending: the reaper queues it again
    return "failed"


def _fields(record: CameraFile) -> dict:
    session, device = record.session, record.device or record.session.device
    eye = record.file_type.removesuffix("_dicom")
    name = record.original_filename
    return {
        "source": Image.Source.CAMERA,
        "hospital_id": session.hospital_id,
        "lab_unit_id": device.lab_unit_id,
        "camera_id": device.camera_id,
        "area": Area.objects.filter(code=eye).first(),
        "subject_identifier": session.subject.subject_identifier,
        "original_filename": (f"{name}.png" if record.file_type in DICOM_TYPES else name)[:255],
    }


def requeue_stale(idle_seconds: int) -> int:
    """Queue again the camera images whose attempt ended without a result; returns how many.

    That is a pending file whose lease ran out (its worker died, or the attempt failed), or one
    never claimed though queued long ago, with no task waiting for it. Each queueing is counted
    as an attempt, so a file is queued at most FUNDUSHUB_MAX_ATTEMPTS times; after that it ends
    as an error.
    """
    now = timezone.now()
    cutoff = now - timedelta(seconds=idle_seconds)
    stale = CameraFile.objects.filter(image_state="pending").filter(_unleased(now, cutoff))
    count = 0
    for pk, attempts in stale.values_list("pk", "image_attempts"):
        if task_waiting(TASK_PATH, pk):
            continue
        if _requeue(pk, attempts, now, cutoff):
            count += 1
    return count


def _unleased(now, cutoff) -> Q:
    """No live worker holds the file: its lease ran out, or it was never claimed though old."""
    return Q(image_lease_until__lt=now) | Q(image_lease_until=None, received_at__lt=cutoff)


def _requeue(pk: int, attempts: int, now, cutoff) -> bool:
    # Still unleased when the row is changed: a worker that claimed the file since it was listed
    # keeps its lease, and the file is neither queued twice nor given up under it.
    row = CameraFile.objects.filter(pk=pk, image_state="pending", image_attempts=attempts).filter(
        _unleased(now, cutoff)
    )
    if attempts >= settings.FUNDUSHUB_MAX_ATTEMPTS:
        if row.update(
            image_state="error",
            image_detail=gave_up(attempts, "the worker stopped while handling it"),
            image_lease_until=None,
        ):
            state_changed("camera_image", "error", file_id=pk, attempt=attempts)
            log.warning("Camera file %s ended as an error after %d attempts", pk, attempts)
        return False
    with transaction.atomic():
        # The attempts fence: two reapers racing queue the file once.
        if not row.update(image_attempts=attempts + 1, image_lease_until=None):
            return False
        ingest_camera_image.enqueue(pk)
        state_changed("camera_image", "pending", file_id=pk, attempt=attempts + 1)
    return True
