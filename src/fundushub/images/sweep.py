"""Remove bytes no row refers to: what a crash or a refused item can leave behind.

Rows never point at missing bytes (bytes are written first), so the only debris is files without
rows. Anything younger than the grace period is left alone: it may belong to work in progress.
"""

from datetime import timedelta

from django.core.files.storage import default_storage
from django.utils import timezone

from fundushub.images.models import Image
from fundushub.uploads.models import PENDING_STATES, UploadItem


def _files(prefix: str):
    """Every file under prefix, as (key, name), one level of fan-out folders deep or flat."""
    if not default_storage.exists(prefix):
        return
    dirs, files = default_storage.listdir(prefix)
    for name in files:
        yield f"{prefix}/{name}", name
    for d in dirs:
        for name in default_storage.listdir(f"{prefix}/{d}")[1]:
            yield f"{prefix}/{d}/{name}", name


def _old(key: str, cutoff) -> bool:
    try:
        return default_storage.get_modified_time(key) < cutoff
    except (FileNotFoundError, NotImplementedError):
        return False


def sweep(grace: timedelta = timedelta(hours=1), dry_run: bool = False) -> dict:
    cutoff = timezone.now() - grace
    removed = {"staging": 0, "originals": 0, "thumbs": 0}
    pending = set(
        UploadItem.objects.filter(state__in=PENDING_STATES).values_list("staged_key", flat=True)
    )
    for key, _ in _files("staging"):
        if key not in pending and _old(key, cutoff):
            removed["staging"] += 1
            dry_run or default_storage.delete(key)
    for prefix, strip in (("originals", ""), ("thumbs", ".jpg")):
        for key, name in _files(prefix):
            sha = name.removesuffix(strip)
            if ".tmp" in name or not Image.objects.filter(sha256=sha).exists():
                if _old(key, cutoff):
                    removed[prefix] += 1
                    dry_run or default_storage.delete(key)
    return removed
