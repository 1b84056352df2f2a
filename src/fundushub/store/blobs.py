"""Content-addressed bytes in the configured storage: local files by default, an S3-compatible
bucket when set up (store/bucket.py). Every blob goes through here, whatever the backend.

Originals live at originals/<sha256[:2]>/<sha256> and are never rewritten with other bytes;
identical bytes shared by two hospitals are one blob. A write returns once its bytes are durable
(fsynced and renamed locally; the upload completed on S3), so a row written after it never
points at missing bytes. Storage failures are OSErrors on both backends.
"""

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

from django.core.files.storage import default_storage

from fundushub.store import bucket


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
    with bucket.errors(key):
        return default_storage.exists(key)


def open_blob(key: str):
    """A seekable file for reading (decoders need to seek): on S3 a copy, spooled to a temporary
    file past a few MB. To send a blob as it is, use reader()."""
    with bucket.errors(key):
        return default_storage.open(key, "rb")


def reader(key: str) -> tuple:
    """(a file to read straight through, its size), for serving: on S3 the bytes are read as
    they are sent. Raises FileNotFoundError."""
    path = local_path(key)
    if path is None:
        return bucket.reader(key)
    f = open(path, "rb")  # noqa: SIM115 - the caller closes it (a response, once sent)
    return f, os.fstat(f.fileno()).st_size


def writer(key: str):
    """A new blob written as it arrives (write(data), then commit() or abort()): durable when
    commit() returns. A local file is fsynced; an S3 object is uploaded part by part."""
    path = local_path(key)
    return _FileWriter(path) if path else bucket.BucketWriter(key)


def move_into_place(staged_key: str, key: str) -> None:
    """Move a staged upload to its content-addressed key: a rename on local disk, a server-side
    copy then delete in a bucket."""
    src, dest = local_path(staged_key), local_path(key)
    if src and dest:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        os.replace(src, dest)
        _fsync_dir(os.path.dirname(dest))
        return
    bucket.move(staged_key, key)


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
    bucket.put(key, data)  # a PUT is atomic: the object appears complete or not at all


def delete(key: str) -> None:
    with bucket.errors(key):
        default_storage.delete(key)


def walk(prefix: str) -> Iterator[list[tuple[str, datetime]]]:
    """Every blob under prefix/, in batches: (key, last modified). Nothing when there is none."""
    root = local_path(prefix)
    if root is None:
        yield from bucket.walk(prefix)
        return
    base = local_path("")
    for folder, _, names in os.walk(root):
        batch = []
        for name in names:
            path = os.path.join(folder, name)
            try:
                modified = datetime.fromtimestamp(os.stat(path).st_mtime, UTC)
            except FileNotFoundError:  # removed meanwhile (moved into place, swept)
                continue
            batch.append((os.path.relpath(path, base).replace(os.sep, "/"), modified))
        yield batch


class _FileWriter:
    def __init__(self, path: str):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self._path = path
        self._file = open(path, "xb")  # noqa: SIM115 - closed by commit() or abort()

    def write(self, data: bytes) -> None:
        self._file.write(data)

    def commit(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())  # bytes durable before any row refers to them
        self._file.close()

    def abort(self) -> None:
        self._file.close()
        os.remove(self._path)


def _fsync_dir(path: str) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
