"""MD5 and SHA-256 of an upload, computed beside its reception.

Hashing an image costs more than receiving and writing it (bench/RESULTS.md), and hashlib
releases the GIL, so each digest is fed on a pool thread while the request thread goes on reading
the socket and writing the staging file; it waits only for the end. A file whose first piece is
small may be a report that arrives whole: that piece waits, and a file of one small piece is
hashed inline, where a thread hand-off would cost more than it saves.
"""

import hashlib
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

# Shared by every upload of the process; a backlog waits in each chain's own queue.
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="digest")
# A first piece this small may be the whole file (a report): it waits, to be hashed inline if so.
INLINE_MAX = 64 * 1024
# Received but not yet hashed, per digest: beyond this the reader waits (bounded memory).
MAX_BACKLOG = 8 * 1024 * 1024


class _Chain:
    """Feeds pieces, in order, to one hash object on a pool thread."""

    def __init__(self, digest):
        self.digest = digest
        self.pieces: deque[bytes] = deque()
        self.backlog = 0
        self.draining = False
        self.done: Future | None = None
        self.error: BaseException | None = None
        self.cond = threading.Condition()

    def feed(self, piece: bytes) -> None:
        with self.cond:
            self.cond.wait_for(lambda: self.backlog < MAX_BACKLOG or self.error)
            if self.error:
                raise self.error
            self.pieces.append(piece)
            self.backlog += len(piece)
            if self.draining:
                return  # the running drain takes it before it stops
            self.draining = True
        self.done = _pool.submit(self._drain)

    def _drain(self) -> None:
        try:
            while True:
                with self.cond:
                    if not self.pieces:
                        self.draining = False
                        return
                    piece = self.pieces.popleft()
                self.digest.update(piece)
                with self.cond:
                    self.backlog -= len(piece)
                    self.cond.notify()
        except BaseException as e:  # kept for the reader: it must not wait for a dead drain
            with self.cond:
                self.error, self.draining = e, False
                self.pieces.clear()
                self.cond.notify_all()
            raise

    def hexdigest(self) -> str:
        if self.done is not None:
            self.done.result()  # the last drain started takes every piece fed before this call
        return self.digest.hexdigest()


class Digests:
    """Both digests of one stream of pieces; `hexdigests()` waits for the last piece."""

    def __init__(self):
        self._first: bytes | None = None
        self._chains: tuple[_Chain, _Chain] | None = None
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha256 = hashlib.sha256()

    def update(self, piece: bytes) -> None:
        if not piece:
            return
        if self._chains is not None:
            for chain in self._chains:
                chain.feed(piece)
        elif self._first is None and len(piece) <= INLINE_MAX:
            self._first = piece  # held back: if it is the only piece, it is hashed inline
        else:
            self._chains = (_Chain(self._md5), _Chain(self._sha256))
            for chain in self._chains:
                if self._first is not None:
                    chain.feed(self._first)
                chain.feed(piece)
            self._first = None

    def hexdigests(self) -> tuple[str, str]:
        """(md5, sha256) of everything fed."""
        if self._chains is not None:
            return self._chains[0].hexdigest(), self._chains[1].hexdigest()
        if self._first is not None:
            self._md5.update(self._first)
            self._sha256.update(self._first)
            self._first = None
        return self._md5.hexdigest(), self._sha256.hexdigest()
