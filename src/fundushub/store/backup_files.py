"""Copying the store's files to and from a backup folder, incrementally.

Blobs are content-addressed: a key present at the destination with the same size holds the same
bytes, so only new keys are copied. Originals and edited variants can also be checked against
their names as they are copied (a restore does), at no extra read.

These are paths on local disks: backup and restore exist for the embedded default (local files);
an object store is kept safe by its own versioning (README, Backup and restore).
"""

import hashlib
import os
import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# What a backup holds of the store. Staging holds uploads in flight: their rows may be in the
# database copy, so their bytes go too. quarantine/ (scrub) is left out on purpose.
PREFIXES = ("originals", "edited", "thumbs", "staging")
NAMED_BY_DIGEST = {"originals": "", "edited": ".png"}
CHUNK = 1024 * 1024
# Without os.sync (Windows) each copy is flushed on its own before it counts as made.
_SYNC_EACH = not hasattr(os, "sync")


@dataclass
class Tally:
    """What a copy saw: files per prefix, files and bytes copied, and copies refused."""

    seen: Counter = field(default_factory=Counter)
    staged: set[str] = field(default_factory=set)
    copied: int = 0
    copied_bytes: int = 0
    mismatched: list[str] = field(default_factory=list)


def files_under(root: Path, prefix: str):
    """(relative key, path) of each file under root/prefix; ".tmp" files are writes under way."""
    top = root / prefix
    for folder, _dirs, names in os.walk(top):
        for name in sorted(names):
            if not name.endswith(".tmp"):
                path = Path(folder, name)
                yield path.relative_to(root).as_posix(), path


def count_files(root: Path) -> dict[str, int]:
    return {prefix: sum(1 for _ in files_under(root, prefix)) for prefix in PREFIXES}


def copy_store(src_root: Path, dest_root: Path, verify: bool = False) -> Tally:
    """Copy every file of PREFIXES that dest_root lacks (or holds with another size).

    verify: check originals and edited variants against the digest they are named by; one that
    does not match is not put in place and is listed in `mismatched`.
    """
    tally = Tally()
    for prefix in PREFIXES:
        for key, src in files_under(src_root, prefix):
            tally.seen[prefix] += 1
            if prefix == "staging":
                tally.staged.add(key)
            dest = dest_root / key
            size = src.stat().st_size
            if dest.is_file() and dest.stat().st_size == size:
                continue
            expected = _digest_named(prefix, src.name) if verify else None
            if copy_file(src, dest, expected):
                tally.copied += 1
                tally.copied_bytes += size
            else:
                tally.mismatched.append(key)
    return tally


def prune_staging(dest_root: Path, keep: set[str]) -> None:
    """Staging names are never reused: a staged file gone from the store is done with (its bytes
    are an original now, or were refused), so the backup lets it go too."""
    for key, path in list(files_under(dest_root, "staging")):
        if key not in keep:
            path.unlink()


def _digest_named(prefix: str, name: str) -> str | None:
    if prefix not in NAMED_BY_DIGEST:
        return None
    return name.removesuffix(NAMED_BY_DIGEST[prefix])


def copy_file(src: Path, dest: Path, expected_sha256: str | None = None) -> bool:
    """Copy src to dest through a temporary name; False (and nothing in place) when the bytes'
    SHA-256 is not expected_sha256. Keeps the modification time (sweep's grace period reads it)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f"{dest.name}.tmp")
    digest = hashlib.sha256()
    with open(src, "rb") as f, open(tmp, "wb") as out:
        while chunk := f.read(CHUNK):
            if expected_sha256:
                digest.update(chunk)
            out.write(chunk)
        if _SYNC_EACH:
            out.flush()
            os.fsync(out.fileno())
    if expected_sha256 and digest.hexdigest() != expected_sha256:
        tmp.unlink()
        return False
    shutil.copystat(src, tmp)
    os.replace(tmp, dest)
    return True


def flush_to_disk() -> None:
    """Make what was copied durable before a manifest says it is there."""
    if not _SYNC_EACH:
        os.sync()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
