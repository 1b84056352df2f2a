"""The generated SECRET_KEY, kept in the data directory and shared by every process that starts there."""

import os
import secrets
import tempfile
from pathlib import Path


def read_or_create_key(path: Path) -> str:
    """Return the key in `path`, creating it first if absent.

    Several processes (web workers, the task worker) may start at once on a new data directory. The key is
    written to a private temporary file and hard-linked into place, so `path` never holds a partial key and
    exactly one process's key wins; the others read that one.
    """
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")  # mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(50))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process got there first; its key is the one
    finally:
        os.unlink(tmp)
    return _read(path)


def _read(path: Path) -> str:
    key = path.read_text().strip()
    if not key:
        raise ValueError(f"{path} is empty; delete it to generate a new secret key")
    return key
