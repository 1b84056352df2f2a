"""Is a file finished? Only when its size and modification time have not changed for a window.

A file counts as stable once *we* have seen the same (size, mtime) for `window` seconds: a
single look is never enough, whatever the mtime says, because copy tools (Explorer, robocopy)
keep the source's old mtime while the bytes are still arriving. The same rule holds on every
path (events, the sweep and the startup scan), since all of them only ask `observe()`.
Observing is one stat() call; nothing here sleeps, so the event thread never blocks.
"""

import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class _Seen:
    signature: tuple  # (size, mtime_ns)
    since: float  # monotonic time the signature was first seen
    first_seen: float  # monotonic time the file was first seen at all
    warned: bool = False


class StabilityTracker:
    def __init__(self, window: float, timeout: float = 30.0, clock=time.monotonic):
        self.window = window
        self.timeout = timeout
        self.clock = clock
        self._seen: dict[Path, _Seen] = {}
        self._lock = threading.Lock()

    def observe(self, path: Path) -> bool:
        """Look at the file now; True if it has been unchanged (and readable) for the window."""
        now = self.clock()
        try:
            st = path.stat()
            signature = (st.st_size, st.st_mtime_ns)
            # On Windows the camera may still hold the file open with a deny-share lock.
            with open(path, "rb"):
                pass
        except (FileNotFoundError, NotADirectoryError):
            self.forget(path)
            return False
        except OSError:  # PermissionError and sharing violations: still being written
            signature = None
        with self._lock:
            seen = self._seen.get(path)
            if seen is None:
                self._seen[path] = _Seen(signature, now, now)
                return False
            if signature is None or signature != seen.signature:
                seen.signature, seen.since = signature, now
                return False
            return now - seen.since >= self.window

    def wait_left(self, path: Path) -> float:
        """Seconds until the file could be stable, if it does not change again (0 if unknown)."""
        with self._lock:
            seen = self._seen.get(path)
            return max(0.0, seen.since + self.window - self.clock()) if seen else 0.0

    def overdue(self, path: Path) -> bool:
        """True once per file that has kept changing for longer than the timeout (for a warning)."""
        with self._lock:
            seen = self._seen.get(path)
            if not seen or seen.warned or self.clock() - seen.first_seen < self.timeout:
                return False
            if self.clock() - seen.since >= self.window:
                return False
            seen.warned = True
            return True

    def signature(self, path: Path):
        with self._lock:
            seen = self._seen.get(path)
            return seen.signature if seen else None

    def forget(self, path: Path) -> None:
        with self._lock:
            self._seen.pop(path, None)

    def forget_under(self, folder: Path) -> None:
        with self._lock:
            for path in [p for p in self._seen if p.parent == folder]:
                del self._seen[path]
