"""What the store and library ask of uploads: the blobs an upload in flight refers to
(images/references.py) and which images a job stored (images/dashboard.py).

A queued or processing item may have moved its bytes (and thumbnail) into place before its
Image row exists, e.g. when its worker died; until it finishes, those files are not debris.
"""

from fundushub.store.references import values_in
from fundushub.uploads.models import PENDING_STATES, UploadItem


def referenced(kind, shas) -> set[str]:
    pending = UploadItem.objects.filter(state__in=PENDING_STATES)
    if kind == "staging":
        return values_in(pending, "staged_key", shas)
    if kind in ("originals", "thumbs"):
        return values_in(pending, "sha256", shas)
    return set()


def job_images(job_id):
    """The ids of a job's stored images and of the ones its duplicates matched."""
    return UploadItem.objects.filter(job_id=job_id, image__isnull=False).values("image_id")
