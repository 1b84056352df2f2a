"""Re-read every stored blob and check it still is what its name says.

Originals (originals/<sha[:2]>/<sha>) and edited variants (edited/<sha[:2]>/<sha>.png) are named by
the SHA-256 of their bytes, so each is re-read and re-hashed; thumbnails are derived, so only their
presence is checked. Everything goes through the storage API: the same scrub runs on local files
and on S3.

Each fan-out folder is walked in key order (edited/ before originals/, 00 to ff), so where a scrub
has got to is one key, and a stopped one goes on from there (scrub_state.py). Per folder, the rows
that refer to its blobs are read before the folder is listed: bytes are written before rows, so a
row seen first has its blob in the listing unless the blob is really gone.

A corrupt blob is never deleted: it moves to quarantine/<its key>, where nothing reads it and the
sweep never looks, and an upload of the same picture may then store good bytes again.
"""

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from time import monotonic

from django.core.files.storage import default_storage

from fundushub.lib.throttle import Throttle
from fundushub.store import blobs, references
from fundushub.store.scrub_state import ScrubState

# Walked in this order, which is also the keys' order: the checkpoint compares keys as strings.
KINDS = ("edited", "originals")
_KEY = {"edited": blobs.edited_key, "originals": blobs.original_key}
_SUFFIX = {"edited": ".png", "originals": ""}
_FOLDERS = [f"{i:02x}" for i in range(256)]
_DIGEST = re.compile(r"[0-9a-f]{64}")
CHUNK = 1024 * 1024
SHOWN_ROWS = 10  # a blob many rows share (synthetic images) names the first few
SAVE_EVERY = 10.0  # seconds between checkpoints while nothing is found


@dataclass
class Finding:
    problem: str  # one of scrub_state.PROBLEMS
    key: str
    rows: list[str] = field(default_factory=list)
    detail: str = ""

    def __str__(self) -> str:
        text = f"{self.problem.upper()} {self.key}"
        if self.detail:
            text += f": {self.detail}"
        referrers = "; ".join(self.rows[:SHOWN_ROWS]) if self.rows else "no row refers to it"
        if len(self.rows) > SHOWN_ROWS:
            referrers += f"; and {len(self.rows) - SHOWN_ROWS:,} more"
        return f"{text}\n    referred to by: {referrers}"


def sampled(key: str, fraction: float, seed: int) -> bool:
    """Whether a key is in the sample: the same keys for the same fraction and seed, every run."""
    if fraction >= 1:
        return True
    digest = hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest) < fraction * 2**64


def _ranges(listed: set[str]):
    """(low, high, listed) over the whole digest space: each listed fan-out folder alone, and each
    run of folders storage does not have as one range (its rows are asked for in one query)."""
    start = None
    for i, prefix in enumerate(_FOLDERS):
        high = _FOLDERS[i + 1] if i < 255 else "g"  # "g" sorts after every hex digest
        if prefix in listed:
            if start is not None:
                yield start, prefix, False
                start = None
            yield prefix, high, True
        elif start is None:
            start = prefix
    if start is not None:
        yield start, "g", False


def _folder_done(folder: str, last_key: str) -> bool:
    # Names are hex digits (and ".png"), all below "\x7f": a later key means the folder is done.
    return last_key > f"{folder}/\x7f"


class Scrub:
    """One pass, or the rest of one: `run()` updates `state` as it goes.

    report: called with each Finding; progress: called with (kind, fraction of that kind done);
    save: called now and then, and on every finding, to keep the checkpoint.
    """

    def __init__(
        self,
        state: ScrubState,
        *,
        throttle: Throttle,
        quarantine: bool = True,
        report: Callable[[Finding], None] = lambda finding: None,
        progress: Callable[[str, float], None] = lambda kind, fraction: None,
        save: Callable[[], None] = lambda: None,
    ):
        self.state = state
        self.throttle = throttle
        self.quarantine = quarantine
        self.report = report
        self.progress = progress
        self.save = save
        self._saved_at = monotonic()

    def run(self) -> None:
        for kind in KINDS:
            for low, high, listed in _ranges(self._fanout(kind)):
                last = f"{int(high, 16) - 1:02x}" if high != "g" else "ff"
                if not _folder_done(f"{kind}/{last}", self.state.last_key):
                    self._range(kind, low, high, listed)
                self.progress(kind, int(last, 16) / 255)
        self.state.finished = True
        self.save()

    def _fanout(self, kind: str) -> set[str]:
        """The fan-out folders a kind has in storage (a few in a small store, 256 in a large one)."""
        try:
            return set(default_storage.listdir(kind)[0]) & set(_FOLDERS)
        except FileNotFoundError:
            return set()

    def _range(self, kind: str, low: str, high: str, listed: bool) -> None:
        """The blobs of digests low <= d < high: one fan-out folder, or a run of absent ones."""
        images = references.image_rows_between(kind, low, high)
        rows = references.rows_between(kind, low, high, images=images)
        present = self._listing(f"{kind}/{low}", _SUFFIX[kind]) if listed else set()
        # One listing instead of a request per thumbnail (a round trip each on S3).
        thumbnails = self._listing(f"thumbs/{low}", ".jpg") if listed and images else set()
        for sha in sorted(rows.keys() | present):
            key = _KEY[kind](sha)
            if key <= self.state.last_key or not sampled(key, self.state.sample, self.state.seed):
                continue
            self._check(kind, sha, key, sha in present, rows.get(sha, []))
            if sha in images and sha not in thumbnails:
                self._check_thumbnail(sha, images[sha])
            self.state.last_key = key
            self.state.checked += 1
            self.progress(kind, int(sha[:8], 16) / 16**8)
            if monotonic() - self._saved_at > SAVE_EVERY:
                self._save()

    def _listing(self, folder: str, suffix: str) -> set[str]:
        """The digests named in a folder; ".tmp" files are writes under way, not blobs."""
        try:
            names = default_storage.listdir(folder)[1]
        except FileNotFoundError:
            return set()
        shas = {name.removesuffix(suffix) for name in names if name.endswith(suffix)}
        return {sha for sha in shas if _DIGEST.fullmatch(sha)}

    def _check(self, kind: str, sha: str, key: str, listed: bool, rows: list[str]) -> None:
        if not listed and not blobs.exists(key):
            self._missing(kind, sha, key, rows)
            return
        try:
            actual = self._digest(key)
        except Exception as e:  # an I/O error is what a scrub is for: report it, go on
            if not blobs.exists(key):
                self._missing(kind, sha, key, rows)
            else:
                self._found(Finding("unreadable", key, rows, f"{type(e).__name__}: {e}"))
            return
        if actual != sha:
            self._corrupt(key, actual, rows)

    def _digest(self, key: str) -> str:
        digest = hashlib.sha256()
        with blobs.open_blob(key) as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
                self.state.bytes_read += len(chunk)
                self.throttle.spent(len(chunk))
        return digest.hexdigest()

    def _missing(self, kind: str, sha: str, key: str, rows: list[str]) -> None:
        # Gone with its last row meanwhile (an image deleted while we looked) is no problem.
        if references.referenced(kind, [sha]):
            held = f"quarantine/{key}"
            detail = f"a corrupt copy is in {held}" if blobs.exists(held) else ""
            self._found(Finding("missing", key, rows, detail))

    def _corrupt(self, key: str, actual: str, rows: list[str]) -> None:
        if self.quarantine:
            where = f"moved to {quarantine(key)}"
        else:
            where = "left in place (--no-quarantine)"
        self._found(Finding("corrupt", key, rows, f"its bytes hash to {actual}; {where}"))

    def _check_thumbnail(self, sha: str, rows: list[str]) -> None:
        key = blobs.thumbnail_key(sha)
        if not blobs.exists(key) and references.referenced("thumbs", [sha]):
            self._found(Finding("missing thumbnail", key, rows))

    def _found(self, finding: Finding) -> None:
        self.state.problems[finding.problem] += 1
        self.report(finding)
        self._save()

    def _save(self) -> None:
        self.save()
        self._saved_at = monotonic()


def quarantine(key: str) -> str:
    """Move a blob to quarantine/<key> (never over an earlier one); returns where it went."""
    dest, n = f"quarantine/{key}", 1
    while blobs.exists(dest):
        dest, n = f"quarantine/{key}.{n}", n + 1
    blobs.move_into_place(key, dest)
    return dest
