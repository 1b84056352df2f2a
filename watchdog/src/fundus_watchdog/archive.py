"""Moving a finished subject folder to processed/ or rejected/ inside the watch folder.

A rename on the same volume: the folder is either still in place or wholly moved, never half.
On Windows a rename fails with PermissionError while any file in the folder is open in another
program (the camera software, an antivirus scan); that is "try again shortly", not a failure.
"""

import os
from datetime import datetime
from pathlib import Path

from .paths import long_path


def archive_name(subject_identifier: str, when: datetime | None = None) -> str:
    """`<subject_id>_<timestamp>`, local time to the second: 105-10-0989-3_20261121_101500."""
    return f"{subject_identifier}_{(when or datetime.now()):%Y%m%d_%H%M%S}"


def unique_target(parent: Path, name: str) -> Path:
    """parent/name, or parent/name_2, _3, ... if an earlier examination took that name."""
    target, n = parent / name, 1
    while target.exists():
        n += 1
        target = parent / f"{name}_{n}"
    return target


def move_folder(source: Path, target: Path) -> None:
    """Rename source to target (PermissionError propagates: the caller retries later)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(long_path(source), long_path(target))
