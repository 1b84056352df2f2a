"""Camera images join the shared image store: decoded, thumbnailed and deduplicated per hospital."""

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django_tasks import task

from fundushub.camera.models import CameraFile
from fundushub.catalog.models import Area
from fundushub.images import blobs
from fundushub.images.decoding import UndecodableImage, decode_with_thumbnail
from fundushub.images.models import Image

log = logging.getLogger(__name__)


@task()
def ingest_camera_image(file_id: int) -> str:
    record = (
        CameraFile.objects.select_related("session__subject", "device")
        .filter(pk=file_id, image_state="pending")
        .first()
    )
    if record is None:
        return "already done"
    session, device = record.session, record.device
    existing = Image.objects.filter(hospital_id=session.hospital_id, md5=record.md5).first()
    if existing is None:
        try:
            with blobs.open_blob(blobs.original_key(record.sha256)) as f:
                decoded = decode_with_thumbnail(f, record.mime, settings.FUNDUSHUB_THUMBNAIL_SIZE)
        except UndecodableImage as e:
            log.warning("Camera file %s is not a decodable image: %s", record.pk, e)
            CameraFile.objects.filter(pk=record.pk).update(image_state="undecodable")
            return "undecodable"
        if not blobs.exists(blobs.thumbnail_key(record.sha256)):
            blobs.write_bytes(blobs.thumbnail_key(record.sha256), decoded.thumbnail)
        existing = _insert(record, decoded, session, device)
    CameraFile.objects.filter(pk=record.pk).update(image=existing, image_state="stored")
    return "stored"


def requeue_stale(idle_seconds: int) -> int:
    """Queue again the camera images whose task died: pending, idle, and with no task waiting."""
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    cutoff = timezone.now() - timedelta(seconds=idle_seconds)
    stale = CameraFile.objects.filter(image_state="pending", received_at__lt=cutoff)
    count = 0
    for pk in stale.values_list("pk", flat=True):
        waiting = DBTaskResult.objects.filter(
            status=TaskResultStatus.READY,
            task_path="fundushub.camera.tasks.ingest_camera_image",
            args_kwargs__args__0=pk,
        ).exists()
        if not waiting:
            ingest_camera_image.enqueue(pk)
            count += 1
    return count


def _insert(record, decoded, session, device) -> Image:
    try:
        with transaction.atomic():
            return Image.objects.create(
                source=Image.Source.CAMERA,
                hospital_id=session.hospital_id,
                lab_unit_id=device.lab_unit_id if device else session.device.lab_unit_id,
                camera_id=device.camera_id if device else None,
                area=Area.objects.filter(code=record.file_type).first(),
                subject_identifier=session.subject.subject_identifier,
                original_filename=record.original_filename,
                content_type=record.mime,
                size=record.size,
                width=decoded.width,
                height=decoded.height,
                md5=record.md5,
                sha256=record.sha256,
            )
    except IntegrityError:
        return Image.objects.get(hospital_id=session.hospital_id, md5=record.md5)
