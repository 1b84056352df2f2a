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
The store's own rows are asked here; the ways in answer for theirs through images/references.py.
"""

from datetime import timedelta

from django.core.files.storage import default_storage
from django.utils import timezone

from fundushub.store.references import referenced

_BATCH = 500
_SUFFIXES = {"originals": "", "thumbs": ".jpg", "edited": ".png"}


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


def _referenced(kind: str, names: list[str]) -> set[str]:
    """Which of these some row refers to: one query per referrer per batch, not per file."""
    found = set()
    for start in range(0, len(names), _BATCH):
        found |= referenced(kind, names[start : start + _BATCH])
    return found


def sweep(grace: timedelta = timedelta(hours=1), dry_run: bool = False) -> dict:
    cutoff = timezone.now() - grace
    removed = {"staging": 0, "originals": 0, "thumbs": 0, "edited": 0}
    for files in _folders("staging"):
        pending = _referenced("staging", [key for key, _ in files])
        for key, _ in files:
            if key not in pending and _old(key, cutoff):
                removed["staging"] += 1
                dry_run or default_storage.delete(key)
    for prefix, suffix in _SUFFIXES.items():
        for files in _folders(prefix):
            # A ".tmp" file is a write that never finished (blobs.write_bytes renames on success).
            shas = [name.removesuffix(suffix) for _, name in files if ".tmp" not in name]
            kept = _referenced(prefix, shas)
            for key, name in files:
                if ".tmp" not in name and name.removesuffix(suffix) in kept:
                    continue
                if _old(key, cutoff):
                    removed[prefix] += 1
                    dry_run or default_storage.delete(key)
    return removed
