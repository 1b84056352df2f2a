"""Storing a file a camera sent: bytes first (content-addressed), then the row, which is unique
per session and original filename so that a race ends in one file, one 201 and one 200."""

import logging

from django.db import IntegrityError, transaction

from fundushub.camera.models import DICOM_TYPES, IMAGE_TYPES, CameraFile
from fundushub.lib.prepared import PreparedQuery
from fundushub.store import blobs

log = logging.getLogger(__name__)

# Files that become an image in the store (a DICOM as a preview of its first frame).
PICTURE_TYPES = IMAGE_TYPES + DICOM_TYPES
STORED, IDENTICAL, CONFLICT = "stored", "identical", "conflict"


class StorageError(Exception):
    pass


# Asked on every upload: compiled once (see fundushub.lib.prepared).
SAME_NAME = PreparedQuery(
    CameraFile,
    lambda session, name: CameraFile.objects.filter(
        session_id=session, original_filename=name
    ).order_by()[:1],
    session="session",
    name="original_filename",
)


def existing_outcome(session, staged) -> tuple[str, CameraFile] | None:
    """An earlier file of the same name in this session: identical bytes, or a conflict."""
    previous = SAME_NAME.first(session=session.pk, name=staged.name)
    if previous is None:
        return None
    previous.session = session
    return (IDENTICAL if previous.sha256 == staged.sha256 else CONFLICT), previous


def store(session, device, file_type: str, staged, capture_datetime) -> tuple[str, CameraFile]:
    key = blobs.original_key(staged.sha256)
    try:
        # Moved even when the blob exists (same bytes): an existing one may be an orphan the
        # sweep is about to remove, and the move makes it fresh.
        blobs.move_into_place(staged.staged_key, key)
        staged.staged_key = ""
    except OSError as e:
        staged.discard()
        raise StorageError(str(e)) from e
    try:
        with transaction.atomic():
            record = CameraFile.objects.create(
                session=session,
                file_type=file_type,
                original_filename=staged.name,
                size=staged.size,
                sha256=staged.sha256,
                md5=staged.md5,
                mime=staged.mime,
                capture_datetime=capture_datetime,
                device=device,
                image_state="pending" if file_type in PICTURE_TYPES else "none",
                # Queued below: that is its first attempt (see camera.tasks.requeue_stale).
                image_attempts=1 if file_type in PICTURE_TYPES else 0,
            )
            if file_type in PICTURE_TYPES:
                from fundushub.camera.tasks import ingest_camera_image

                ingest_camera_image.enqueue(record.pk)
    except IntegrityError:
        outcome = existing_outcome(session, staged)
        if outcome is None:  # pragma: no cover - the constraint names only this case
            raise
        return outcome
    return STORED, record
