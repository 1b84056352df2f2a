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
The store's own rows are asked here; the ways in answer for theirs through store/references.py.
"""

from datetime import timedelta

from django.utils import timezone

from fundushub.store import blobs
from fundushub.store.references import referenced

_BATCH = 500
_SUFFIXES = {"originals": "", "thumbs": ".jpg", "edited": ".png"}


def _referenced(kind: str, names: list[str]) -> set[str]:
    """Which of these some row refers to: one query per referrer per batch, not per file."""
    found = set()
    for start in range(0, len(names), _BATCH):
        found |= referenced(kind, names[start : start + _BATCH])
    return found


def _orphans(prefix: str, listed: list, cutoff) -> list[str]:
    """The keys of a listing that are older than cutoff and that no row refers to. A staged file
    is referred to by its key; a blob by its digest (its name without the suffix). A ".tmp" file
    is a write that never finished (blobs.write_bytes renames on success): no row refers to it."""
    old = [key for key, modified in listed if modified < cutoff]
    if prefix == "staging":
        kept = _referenced("staging", old)
        return [key for key in old if key not in kept]
    suffix = _SUFFIXES[prefix]
    names = {key: key.rsplit("/", 1)[-1] for key in old}
    kept = _referenced(prefix, [n.removesuffix(suffix) for n in names.values() if ".tmp" not in n])
    return [k for k, n in names.items() if ".tmp" in n or n.removesuffix(suffix) not in kept]


def sweep(grace: timedelta = timedelta(hours=1), dry_run: bool = False) -> dict:
    """Remove (or, dry_run, count) the orphans older than grace, on either backend: a listing
    brings each blob's age with its name."""
    cutoff = timezone.now() - grace
    removed = {"staging": 0, "originals": 0, "thumbs": 0, "edited": 0}
    for prefix in removed:
        for listed in blobs.walk(prefix):
            for key in _orphans(prefix, listed, cutoff):
                removed[prefix] += 1
                dry_run or blobs.delete(key)
    return removed
