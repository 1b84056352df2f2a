"""The data directory (database, originals, staging, secret key) is private to the user we run as.

On POSIX the process umask becomes 077, so every file and folder made afterwards is 0600/0700, and
an existing data directory made world-readable by an older version is tightened at start. Only the
top level is walked: with the directory itself at 0700 nothing below can be reached by others,
and a start never pays for walking 100,000 originals.
"""

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600


def prepare(path: Path) -> Path:
    """Create `path` (private) if missing, and make it and its top-level entries private."""
    if os.name != "posix":
        path.mkdir(parents=True, exist_ok=True)
        return path
    os.umask(0o077)
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    _tighten(path, PRIVATE_DIR)
    for entry in path.iterdir():
        if entry.is_symlink():
            continue  # a link's target is somebody else's to decide
        _tighten(entry, PRIVATE_DIR if entry.is_dir() else PRIVATE_FILE)
    return path


def _tighten(path: Path, mode: int) -> None:
    try:
        current = stat.S_IMODE(path.stat().st_mode)
        if current & 0o077:
            os.chmod(path, current & ~0o077 | (mode & 0o700))
    except OSError as e:  # e.g. owned by another user: say so, but do not refuse to start
        log.warning("Could not make %s private (%s); others may be able to read it", path, e)
