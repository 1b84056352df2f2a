"""Camera images join the shared image store: decoded, thumbnailed and deduplicated per hospital.

left/right files are stored as they are; a DICOM joins as a lossless PNG preview of its first
frame (the DICOM itself stays stored byte-exact as the camera file).
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django_tasks import task

from fundushub.camera.dicom import NoPreview, preview_png
from fundushub.camera.models import DICOM_TYPES, CameraFile
from fundushub.catalog.models import Area
from fundushub.images import blobs
from fundushub.images.decoding import UndecodableImage
from fundushub.images.models import Image
from fundushub.images.sniff import PNG
from fundushub.images.store import decode_and_thumbnail, insert_or_existing
from fundushub.lib.tasks import task_waiting

log = logging.getLogger(__name__)
TASK_PATH = "fundushub.camera.tasks.ingest_camera_image"


@dataclass
class Picture:
    """The bytes that become the store's image: the file itself, or a DICOM's preview."""

    sha256: str
    md5: str
    mime: str
    size: int
    filename: str


def _picture(record: CameraFile) -> Picture:
    if record.file_type not in DICOM_TYPES:
        return Picture(
            record.sha256, record.md5, record.mime, record.size, record.original_filename
        )
    with blobs.open_blob(blobs.original_key(record.sha256)) as f:
        png = preview_png(f)
    sha = hashlib.sha256(png).hexdigest()
    # Always (re)written: an existing one may be an orphan the sweep is about to remove.
    blobs.write_bytes(blobs.original_key(sha), png)
    md5 = hashlib.md5(png, usedforsecurity=False).hexdigest()
    return Picture(sha, md5, PNG, len(png), f"{record.original_filename}.png")


@task()
def ingest_camera_image(file_id: int) -> str:
    record = (
        CameraFile.objects.select_related("session__subject", "device")
        .filter(pk=file_id, image_state="pending")
        .first()
    )
    if record is None:
        return "already done"
    try:
        picture = _picture(record)
        existing = Image.objects.filter(hospital_id=record.session.hospital_id, md5=picture.md5)
        image = existing.first()
        if image is None:
            key = blobs.original_key(picture.sha256)
            decoded = decode_and_thumbnail(key, picture.mime, picture.sha256)
            image = _insert(record, picture, decoded)
    except (UndecodableImage, NoPreview) as e:
        log.warning("Camera file %s has no viewable image: %s", record.pk, e)
        CameraFile.objects.filter(pk=record.pk).update(image_state="undecodable")
        return "undecodable"
    CameraFile.objects.filter(pk=record.pk).update(image=image, image_state="stored")
    return "stored"


def _insert(record: CameraFile, picture: Picture, decoded) -> Image:
    session, device = record.session, record.device or record.session.device
    eye = record.file_type.removesuffix("_dicom")
    image, _ = insert_or_existing(
        source=Image.Source.CAMERA,
        hospital_id=session.hospital_id,
        lab_unit_id=device.lab_unit_id,
        camera_id=device.camera_id,
        area=Area.objects.filter(code=eye).first(),
        subject_identifier=session.subject.subject_identifier,
        original_filename=picture.filename[:255],
        content_type=picture.mime,
        size=picture.size,
        width=decoded.width,
        height=decoded.height,
        md5=picture.md5,
        sha256=picture.sha256,
    )
    return image


def requeue_stale(idle_seconds: int) -> int:
    """Queue again the camera images whose task died: pending, idle, and with no task waiting."""
    cutoff = timezone.now() - timedelta(seconds=idle_seconds)
    stale = CameraFile.objects.filter(image_state="pending", received_at__lt=cutoff)
    count = 0
    for pk in stale.values_list("pk", flat=True):
        waiting = task_waiting(TASK_PATH, pk)
        if not waiting:
            ingest_camera_image.enqueue(pk)
            count += 1
    return count
