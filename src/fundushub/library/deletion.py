"""Deleting images for good: the rows, the uploaders' quota, the audit record, then the files.

Rows first, in one transaction; files only after it commits, and only those nothing else still
refers to (blobs are content-addressed and shared: two hospitals' copies of the same bytes, a camera
file's archive, an upload in flight). A crash between the commit and the file removal leaves
orphan files, never a row without its file; `sweep_storage` removes the orphans.
"""

from collections import Counter

from django.db import transaction
from django.db.models import ProtectedError

from fundushub.accounts import quota
from fundushub.audit.models import record
from fundushub.store import blobs
from fundushub.store.models import GradingStatus, Image
from fundushub.store.references import referenced

RELATED = ("hospital", "lab_unit", "uploaded_by")


class DeletionRefused(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def graded_among(images) -> list:
    return [i for i in images if i.grading_status == GradingStatus.GRADED]


def refusal_for(images) -> str:
    """Why this selection may not be deleted ("" when it may): graded images keep their record."""
    graded = graded_among(images)
    if not graded:
        return ""
    names = ", ".join(i.original_filename for i in graded)
    return f"Graded images cannot be deleted: {names}. Deselect them and try again."


def delete_images(request, ids) -> list:
    """Delete the images in ids, all or none; returns the deleted images (detached rows)."""
    with transaction.atomic():
        images = list(
            Image.objects.select_for_update(of=("self",))
            .select_related(*RELATED)
            .filter(pk__in=ids)
            .order_by("created_at", "id")
        )
        # Checked again on the locked rows: a grade may have been recorded since the page was shown.
        if refusal := refusal_for(images):
            raise DeletionRefused(refusal)
        for image in images:
            _audit(request, image)
        try:
            Image.objects.filter(pk__in=[i.pk for i in images]).delete()
        except ProtectedError:  # grades exist on an image not (yet) marked graded
            raise DeletionRefused(
                "Some of these images have grades and cannot be deleted."
            ) from None
        _give_back_quota(images)
        record(
            "images.bulk_deleted",
            request=request,
            images=[str(i.pk) for i in images],
            count=len(images),
        )
        keys = _candidate_keys(images)
        transaction.on_commit(lambda: remove_unreferenced(keys))
    return images


def _audit(request, image) -> None:
    record(
        "image.deleted",
        request=request,
        obj=image,
        filename=image.original_filename,
        sha256=image.sha256,
        md5=image.md5,
        edited_sha256=image.edited_sha256,
        hospital={"id": image.hospital_id, "name": image.hospital.name},
        lab_unit={"id": image.lab_unit_id, "name": image.lab_unit.name},
        uploader=(
            {"id": image.uploaded_by_id, "username": image.uploaded_by.get_username()}
            if image.uploaded_by_id
            else None
        ),
        source=image.source,
        grading_status=image.grading_status,
    )


def _give_back_quota(images) -> None:
    """A deleted direct upload no longer counts against its uploader's lifetime quota."""
    per_user = Counter(
        i.uploaded_by_id for i in images if i.source == Image.Source.DIRECT and i.uploaded_by_id
    )
    for user_id, n in per_user.items():
        quota.give_back(user_id, n)


def _candidate_keys(images) -> dict:
    """The blobs the deleted rows used, by kind: originals, edited variants, thumbnails (sha256s)."""
    originals = {i.sha256 for i in images}
    edited = {i.edited_sha256 for i in images if i.edited_sha256}
    return {"originals": originals, "edited": edited, "thumbs": originals | edited}


def remove_unreferenced(keys) -> dict:
    """Remove each candidate blob that nothing refers to any more; returns how many of each.

    A few queries for the whole batch, not per file (images/references.py asks every referrer).
    """
    removed = {}
    for kind in ("originals", "edited", "thumbs"):
        gone = keys[kind] - referenced(kind, keys[kind])
        removed[kind] = sum(_delete(_KEYS[kind](sha)) for sha in gone)
    return removed


_KEYS = {"originals": blobs.original_key, "edited": blobs.edited_key, "thumbs": blobs.thumbnail_key}


def _delete(key) -> int:
    if not blobs.exists(key):
        return 0
    blobs.delete(key)
    return 1
