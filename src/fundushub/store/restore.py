"""Restore a backup folder (backup.py) into this installation's data folder.

The manifest is checked first (the database copy's SHA-256), the data folder must hold no data
unless forced, then the database is written with SQLite's backup API (into the file the settings
name, so locks and the WAL are honoured), the files are copied with every original and edited
variant checked against its name, and the result is compared with the manifest.

Stop the site and the workers first: a restore replaces what they are working on.
"""

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connections, transaction

from fundushub.store.backup import (
    FORMAT,
    KIND,
    MANIFEST,
    SECRET_KEY_FILE,
    Refused,
    database_path,
    embedded_only,
    media_root,
    table_rows,
)
from fundushub.store.backup_files import copy_file, copy_store, sha256_of
from fundushub.store.models import Image


@dataclass
class Restored:
    manifest: dict
    copied: int = 0
    copied_bytes: int = 0
    problems: list[str] = field(default_factory=list)


def read_manifest(src: Path) -> dict:
    try:
        manifest = json.loads((src / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Refused(
            f"{src} has no {MANIFEST}: it is not a (finished) Fundus Hub backup."
        ) from None
    except ValueError as e:
        raise Refused(f"{src / MANIFEST} is not readable JSON ({e}).") from None
    if manifest.get("kind") != KIND or manifest.get("format", 0) > FORMAT:
        raise Refused(f"{src / MANIFEST} is not a backup this version of Fundus Hub can restore.")
    database = src / manifest["database"]["file"]
    if not database.is_file() or sha256_of(database) != manifest["database"]["sha256"]:
        raise Refused(
            f"The database copy {database.name} is missing or does not match the manifest's "
            "SHA-256: the backup is damaged. Restore an older one."
        )
    return manifest


def data_held() -> list[str]:
    """What the data folder already holds that a restore would replace (empty: nothing)."""
    held = []
    try:
        with transaction.atomic():  # a failed query must not spoil a caller's transaction
            if n := get_user_model().objects.count():
                held.append(f"{n} user(s)")
            if n := Image.objects.count():
                held.append(f"{n} image(s)")
    except DatabaseError:
        pass  # no tables yet: a new data folder
    root = media_root()
    if any((root / prefix).is_dir() and any((root / prefix).iterdir()) for prefix in _STORED):
        held.append("stored files")
    return held


_STORED = ("originals", "edited", "thumbs")


def restore(src: Path, force: bool = False, say=lambda line: None) -> Restored:
    embedded_only("restore")
    manifest = read_manifest(src)
    held = [] if force else data_held()
    if held:
        raise Refused(
            f"The data folder {settings.DATA_DIR} already holds {', '.join(held)}; restore will "
            "not overwrite it. Restore into a new data folder (--data-dir), or give --force to "
            "replace what is there."
        )
    say("Restoring the database...")
    rows = restore_database(src / manifest["database"]["file"], database_path())
    say("Restoring the stored files (each original checked against its name)...")
    tally = copy_store(src / "media", media_root(), verify=True)
    if manifest.get("secret_key") and (src / SECRET_KEY_FILE).is_file():
        copy_file(src / SECRET_KEY_FILE, Path(settings.DATA_DIR) / SECRET_KEY_FILE)
    result = Restored(manifest, tally.copied, tally.copied_bytes)
    result.problems += [f"{key}: its bytes do not match its name" for key in tally.mismatched]
    if rows != manifest["database"]["rows"]:
        result.problems.append("the restored database's row counts differ from the manifest's")
    for prefix, expected in manifest["files"].items():
        if tally.seen[prefix] < expected:
            result.problems.append(
                f"{prefix}: the backup holds {tally.seen[prefix]} file(s), the manifest {expected}"
            )
    return result


def restore_database(copy: Path, target: Path) -> dict[str, int]:
    """Write the copy into target through SQLite; returns the restored rows per table."""
    connections.close_all()
    if not target.exists():
        # A journal left beside a removed database belongs to that one, not to the restored.
        for suffix in ("-wal", "-shm", "-journal"):
            Path(f"{target}{suffix}").unlink(missing_ok=True)
    source = sqlite3.connect(f"{copy.resolve().as_uri()}?mode=ro", uri=True)
    dest = sqlite3.connect(target, timeout=30)
    try:
        source.backup(dest)
        return table_rows(dest)
    finally:
        dest.close()
        source.close()
