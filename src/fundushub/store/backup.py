"""Backup of the embedded default (SQLite and local files) into a folder, incrementally.

A backup folder holds the database copy (database-<time>.sqlite3), the store's files under media/
as in the data folder, the secret key, and manifest.json, written last: a folder with a manifest
is a whole backup, and an interrupted backup leaves the previous one whole (its database copy is
only removed once a newer manifest names another).

Order: the files, then the database (SQLite's online backup, while the site runs), then the files
added meanwhile. Bytes are stored before the rows that name them, so every row in the copy finds
its bytes in the folder, and a file removed after the first pass is still there for an older row.

PostgreSQL and S3 installations are refused: their own tools do this better (README).
"""

import json
import os
import sqlite3
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import connection

from fundushub.store import blobs
from fundushub.store.backup_files import (
    copy_file,
    copy_store,
    count_files,
    flush_to_disk,
    prune_staging,
    sha256_of,
)

MANIFEST = "manifest.json"
KIND = "fundushub-backup"
FORMAT = 1
SECRET_KEY_FILE = "secret_key"
README_SECTION = "README.md, 'Running in production' → 'Backup and restore'"


class Refused(Exception):
    """Why a backup or restore will not run, in words for the person who started it."""


def embedded_only(action: str) -> None:
    if connection.vendor != "sqlite":
        raise Refused(
            f"{action} covers the embedded default (SQLite and local files); this installation "
            f"uses {connection.display_name}. Back it up with its own tools (pg_dump, WAL "
            f"archiving) and the bucket's versioning: see {README_SECTION}."
        )
    if blobs.local_path("originals") is None:
        raise Refused(
            f"{action} covers the embedded default (SQLite and local files); this installation "
            f"keeps its files in object storage (S3). Protect the bucket with versioning and a "
            f"lifecycle rule: see {README_SECTION}."
        )


def database_path() -> Path:
    return Path(connection.settings_dict["NAME"])


def media_root() -> Path:
    return Path(default_storage.path(""))


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _may_write_into(dest: Path) -> None:
    data_dir = Path(settings.DATA_DIR).resolve()
    if dest.resolve() == data_dir or data_dir in dest.resolve().parents:
        raise Refused(f"{dest} is inside the data folder; back up to another disk or machine.")
    if not dest.exists():
        return
    ours = {MANIFEST, "media", SECRET_KEY_FILE}
    for entry in dest.iterdir():
        name = entry.name.removesuffix(".tmp")
        if name not in ours and not (name.startswith("database-") and name.endswith(".sqlite3")):
            raise Refused(
                f"{dest} holds other files ({entry.name}); give an empty folder or one an "
                "earlier backup wrote."
            )


def backup(dest: Path, say=lambda line: None) -> dict:
    """Back up into dest; returns the manifest written."""
    embedded_only("backup")
    _may_write_into(dest)
    dest.mkdir(parents=True, exist_ok=True)
    say("Copying the stored files...")
    first = copy_store(media_root(), dest / "media")
    say("Copying the database...")
    database = snapshot(database_path(), dest)
    say("Copying the files stored meanwhile...")
    second = copy_store(media_root(), dest / "media")
    staged = first.staged | second.staged
    secret = Path(settings.DATA_DIR) / SECRET_KEY_FILE
    if secret.is_file():
        copy_file(secret, dest / SECRET_KEY_FILE)
    manifest = {
        "kind": KIND,
        "format": FORMAT,
        "created_at": now_utc(),
        "fundushub_version": version("fundushub"),
        "database": database,
        "files": {**count_files(dest / "media"), "staging": len(staged)},
        "copied": {
            "files": first.copied + second.copied,
            "bytes": first.copied_bytes + second.copied_bytes,
        },
        "secret_key": secret.is_file(),
    }
    flush_to_disk()
    write_json(dest / MANIFEST, manifest)
    # What only the previous backup needed goes once this one is whole.
    prune_staging(dest / "media", staged)
    for old in dest.glob("database-*.sqlite3"):
        if old.name != database["file"]:
            old.unlink()
    return manifest


def snapshot(source: Path, dest: Path) -> dict:
    """Copy the live database into dest with SQLite's online backup; its file name, size, SHA-256
    and rows per table."""
    name = f"database-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}.sqlite3"
    tmp = dest / f"{name}.tmp"
    tmp.unlink(missing_ok=True)
    src, copy = sqlite3.connect(source, timeout=30), sqlite3.connect(tmp)
    try:
        src.backup(copy)  # one step: a consistent copy; under WAL, writers are not held up
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        rows = table_rows(copy)
    finally:
        copy.close()
        src.close()
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, dest / name)
    path = dest / name
    return {"file": name, "size": path.stat().st_size, "sha256": sha256_of(path), "rows": rows}


def table_rows(db: sqlite3.Connection) -> dict[str, int]:
    names = db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name"
    ).fetchall()
    return {name: db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for (name,) in names}


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(f"{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
