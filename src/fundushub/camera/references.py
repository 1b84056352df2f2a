"""What the store and library ask of camera files: the blobs they refer to (store/references.py)
and when an image was captured (images/titles.py).

A camera examination's archive keeps every file's bytes (images, DICOMs and reports alike); a
camera image not yet in the store also refers to the thumbnail it may already have made.
"""

from django.db.models import Min

from fundushub.camera.models import CameraFile
from fundushub.store.references import values_in


def referenced(kind, shas) -> set[str]:
    if kind == "originals":
        return values_in(CameraFile.objects, "sha256", shas)
    if kind == "thumbs":
        return values_in(CameraFile.objects.filter(image_state="pending"), "sha256", shas)
    return set()


def rows_between(kind, low, high) -> dict[str, list[str]]:
    """The camera files kept as blobs of this kind with low <= digest < high, in words (a scrub
    reports them beside a missing or corrupt blob)."""
    if kind != "originals":
        return {}
    found: dict[str, list[str]] = {}
    rows = CameraFile.objects.filter(sha256__gte=low, sha256__lt=high).order_by()
    for pk, sha, name, session in rows.values_list("pk", "sha256", "original_filename", "session"):
        found.setdefault(sha, []).append(f"camera file {pk} ({name}, session {session})")
    return found


def capture_times(image_ids) -> dict:
    """{image id: when the camera captured it} (one query), for images/titles.py."""
    rows = (
        CameraFile.objects.filter(image_id__in=image_ids)
        .values("image_id")
        .annotate(first=Min("capture_datetime"))
        .values_list("image_id", "first")
        .order_by()
    )
    return dict(rows)
