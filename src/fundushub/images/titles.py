"""What people call an image: its file name, or for a camera image (whose file names are the
camera's opaque ids) the subject, the eye and the day it was captured, e.g.
"105-10-0989-3 · left eye · 2026-12-01"."""

from django.db.models import Min
from django.utils import timezone

SEPARATOR = " · "


def title_of(source, filename, subject, eye, when) -> str:
    """`eye` is the area's name ("Left eye"), or "" when not recorded; `when` the capture time,
    else the arrival time; the day is the clinic's (TIME_ZONE)."""
    if source != "camera":
        return filename
    day = timezone.localdate(when).isoformat() if when else ""
    parts = [subject or "Unknown subject", eye.lower() if eye else "eye not recorded", day]
    return SEPARATOR.join(p for p in parts if p)


def capture_times(image_ids) -> dict:
    """{image id: when the camera captured it} for camera images (one query)."""
    from fundushub.camera.models import CameraFile

    if not image_ids:
        return {}
    rows = (
        CameraFile.objects.filter(image_id__in=image_ids)
        .values("image_id")
        .annotate(first=Min("capture_datetime"))
        .values_list("image_id", "first")
        .order_by()
    )
    return dict(rows)


def add_capture_times(images) -> None:
    """Give each camera image its `captured_at`, so its title carries the day of capture."""
    camera = [i.pk for i in images if i.source == "camera"]
    times = capture_times(camera)
    for image in images:
        image.captured_at = times.get(image.pk)
