"""What people call an image: its file name, or for a camera image (whose file names are the
camera's opaque ids) the subject, the eye and the day it was captured, e.g.
"105-10-0989-3 · left eye · 2026-12-01"."""

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


# Camera files know when an image was captured; the camera app answers from its AppConfig.ready()
# (the store and library may not import it).
_capture_times_of = None


def answer_capture_times(fn) -> None:
    """fn(image ids) -> {image id: capture time}, in one query."""
    global _capture_times_of
    _capture_times_of = fn


def capture_times(image_ids) -> dict:
    """{image id: when the camera captured it} for camera images (one query)."""
    if not image_ids or _capture_times_of is None:
        return {}
    return _capture_times_of(image_ids)


def add_capture_times(images) -> None:
    """Give each camera image its `captured_at`, so its title carries the day of capture."""
    camera = [i.pk for i in images if i.source == "camera"]
    times = capture_times(camera)
    for image in images:
        image.captured_at = times.get(image.pk)
