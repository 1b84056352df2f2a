"""One watchdog per watch folder: an OS lock on a file, released by the OS if the process dies.

A lock file rather than a TCP port: the published newer client holds 127.0.0.1:51742, and a
site may run both while switching over (on different folders).
"""

import os
import sys
from pathlib import Path

_LOCK_OFFSET = 1024  # lock a byte past the pid text, so Windows still lets others read the pid


class AlreadyRunning(Exception):
    pass


class InstanceLock:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd = None

    def acquire(self) -> "InstanceLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _lock(fd)
        except OSError:
            os.close(fd)
            raise AlreadyRunning(
                f"another fundus-watchdog is already running for this folder (lock file {self.path},"
                f" {_holder(self.path)}); stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            _unlock(self._fd)
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def _holder(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="ascii", errors="replace").strip() or "pid unknown"
    except OSError:
        return "pid unknown"


if sys.platform == "win32":
    import msvcrt

    def _lock(fd):
        os.lseek(fd, _LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        os.lseek(fd, 0, os.SEEK_SET)

    def _unlock(fd):
        os.lseek(fd, _LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fd):
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd):
        fcntl.flock(fd, fcntl.LOCK_UN)
