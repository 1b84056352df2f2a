"""Remove bytes no row refers to: what a crash or a refused item can leave behind.

Rows never point at missing bytes (bytes are written first), so the only debris is files without
rows. Anything younger than the grace period is left alone: it may belong to work in progress.

Who refers to what (a blob is content-addressed, so one file may have several referrers):
- originals/<sha>: an image's original (Image.sha256) or a camera file kept byte-exact
  (CameraFile.sha256: images, DICOMs and reports alike);
- thumbs/<sha>.jpg: the thumbnail of an original (Image.sha256) or of an edited variant
  (Image.edited_sha256);
- edited/<sha>.png: an edited variant (Image.edited_sha256);
- and, before any of those rows exist, a pending upload item or camera file (UploadItem.sha256,
  CameraFile.sha256).
"""

from datetime import timedelta

from django.core.files.storage import default_storage
from django.utils import timezone

from fundushub.camera.models import CameraFile
from fundushub.images.models import Image
from fundushub.uploads.models import PENDING_STATES, UploadItem

_BATCH = 500
# Work in flight: an upload whose worker died after moving its bytes into place, or a camera
# image not yet in the store, refers to an original (and its thumbnail) before any Image row does.
_PENDING_ITEMS = (UploadItem.objects.filter(state__in=PENDING_STATES), "sha256")
_PENDING_CAMERA = (CameraFile.objects.filter(image_state="pending"), "sha256")
_REFERRERS = {
    "originals": ("", [(Image.objects, "sha256"), (CameraFile.objects, "sha256"), _PENDING_ITEMS]),
    "thumbs": (
        ".jpg",
        [
            (Image.objects, "sha256"),
            (Image.objects, "edited_sha256"),
            _PENDING_ITEMS,
            _PENDING_CAMERA,
        ],
    ),
    "edited": (".png", [(Image.objects, "edited_sha256")]),
}


def _folders(prefix: str):
    """Each folder's files, as lists of (key, name): the prefix itself, then its fan-out folders."""
    if not default_storage.exists(prefix):
        return
    dirs, files = default_storage.listdir(prefix)
    yield [(f"{prefix}/{name}", name) for name in files]
    for d in dirs:
        yield [
            (f"{prefix}/{d}/{name}", name) for name in default_storage.listdir(f"{prefix}/{d}")[1]
        ]


def _old(key: str, cutoff) -> bool:
    try:
        return default_storage.get_modified_time(key) < cutoff
    except (FileNotFoundError, NotImplementedError):
        return False


def _referenced(shas: list[str], referrers) -> set[str]:
    """Which of these digests some row refers to: one query per referrer per batch, not per file."""
    found = set()
    for start in range(0, len(shas), _BATCH):
        batch = shas[start : start + _BATCH]
        for rows, field in referrers:
            found.update(rows.filter(**{f"{field}__in": batch}).values_list(field, flat=True))
    return found


def sweep(grace: timedelta = timedelta(hours=1), dry_run: bool = False) -> dict:
    cutoff = timezone.now() - grace
    removed = {"staging": 0, "originals": 0, "thumbs": 0, "edited": 0}
    pending = set(
        UploadItem.objects.filter(state__in=PENDING_STATES).values_list("staged_key", flat=True)
    )
    for files in _folders("staging"):
        for key, _ in files:
            if key not in pending and _old(key, cutoff):
                removed["staging"] += 1
                dry_run or default_storage.delete(key)
    for prefix, (suffix, referrers) in _REFERRERS.items():
        for files in _folders(prefix):
            # A ".tmp" file is a write that never finished (blobs.write_bytes renames on success).
            shas = [name.removesuffix(suffix) for _, name in files if ".tmp" not in name]
            kept = _referenced(shas, referrers)
            for key, name in files:
                if ".tmp" not in name and name.removesuffix(suffix) in kept:
                    continue
                if _old(key, cutoff):
                    removed[prefix] += 1
                    dry_run or default_storage.delete(key)
    return removed
