"""Content-addressed bytes in the configured storage (local files by default, S3 when set up).

Originals live at originals/<sha256[:2]>/<sha256> and are never rewritten with other bytes;
identical bytes shared by two hospitals are one blob.
"""

import os
import uuid

from django.core.files import File
from django.core.files.storage import default_storage


def original_key(sha256: str) -> str:
    return f"originals/{sha256[:2]}/{sha256}"


def thumbnail_key(sha256: str) -> str:
    return f"thumbs/{sha256[:2]}/{sha256}.jpg"


def edited_key(sha256: str) -> str:
    """An edited variant: lossless PNG bytes, content-addressed like originals, kept apart."""
    return f"edited/{sha256[:2]}/{sha256}.png"


def local_path(key: str) -> str | None:
    """The filesystem path of a key when storage is local, else None."""
    try:
        return default_storage.path(key)
    except NotImplementedError:
        return None


def exists(key: str) -> bool:
    return default_storage.exists(key)


def open_blob(key: str):
    return default_storage.open(key, "rb")


def move_into_place(staged_key: str, key: str) -> None:
    """Move a staged upload to its content-addressed key: a rename on local disk, a copy elsewhere."""
    src, dest = local_path(staged_key), local_path(key)
    if src and dest:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        os.replace(src, dest)
        _fsync_dir(os.path.dirname(dest))
        return
    with default_storage.open(staged_key, "rb") as f:
        default_storage.save(key, File(f))
    default_storage.delete(staged_key)


def write_bytes(key: str, data: bytes) -> None:
    """Write small derived bytes (a thumbnail) durably under key."""
    dest = local_path(key)
    if dest:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        tmp = f"{dest}.{uuid.uuid4().hex}.tmp"  # unique: threads and processes may race
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
        _fsync_dir(os.path.dirname(dest))  # the rename itself durable, before any row refers to it
        return
    from django.core.files.base import ContentFile

    default_storage.save(key, ContentFile(data))


def delete(key: str) -> None:
    default_storage.delete(key)


def _fsync_dir(path: str) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
