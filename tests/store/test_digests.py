"""Upload digests computed beside reception: the same MD5 and SHA-256 as hashing the whole file."""

import hashlib
import os
import threading

import pytest

from fundushub.store import digests
from fundushub.store.digests import Digests


def expected(data: bytes) -> tuple[str, str]:
    return hashlib.md5(data, usedforsecurity=False).hexdigest(), hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    "sizes",
    [
        [],
        [0],
        [1],
        [5000],
        [200_000],
        [1 << 20, 1 << 20, 123],
        [7, 0, 1 << 16, 3, 0, 2 << 20],
        [1] * 50,
    ],
)
def test_the_digests_of_the_pieces_are_those_of_the_whole(sizes):
    pieces = [os.urandom(n) for n in sizes]
    d = Digests()
    for piece in pieces:
        d.update(piece)
    assert d.hexdigests() == expected(b"".join(pieces))
    assert d.hexdigests() == expected(b"".join(pieces))  # asking twice gives the same answer


def test_a_file_in_one_piece_is_hashed_without_a_thread(monkeypatch):
    def no_threads(*args):
        raise AssertionError("handed to a thread")

    monkeypatch.setattr(digests._pool, "submit", no_threads)
    d = Digests()
    d.update(b"<html>a report</html>")
    assert d.hexdigests() == expected(b"<html>a report</html>")


def test_many_uploads_at_once_share_the_pool_and_each_gets_its_own_digests():
    streams = [[os.urandom(64 * 1024 + i) for _ in range(6)] for i in range(12)]
    results = {}

    def receive(i):
        d = Digests()
        for piece in streams[i]:
            d.update(piece)
        results[i] = d.hexdigests()

    threads = [threading.Thread(target=receive, args=(i,)) for i in range(len(streams))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: expected(b"".join(s)) for i, s in enumerate(streams)}


def test_the_reader_waits_when_hashing_falls_behind(monkeypatch):
    monkeypatch.setattr(digests, "MAX_BACKLOG", 10)
    release = threading.Event()

    class SlowHash:
        def __init__(self):
            self.seen = b""

        def update(self, piece):
            release.wait()
            self.seen += piece

        def hexdigest(self):
            return self.seen.decode()

    chain = digests._Chain(SlowHash())
    fed_all = threading.Event()

    def reader():
        for piece in (b"12345678", b"abcdefgh", b"XY"):
            chain.feed(piece)
        fed_all.set()

    t = threading.Thread(target=reader)
    t.start()
    assert not fed_all.wait(0.3), "the reader ran ahead of the hash by more than the backlog"
    release.set()
    assert fed_all.wait(10)
    t.join()
    assert chain.hexdigest() == "12345678abcdefghXY"


def test_a_failing_hash_is_reported_to_the_reader_instead_of_hanging_it(monkeypatch):
    monkeypatch.setattr(digests, "MAX_BACKLOG", 10)

    class BrokenHash:
        def update(self, piece):
            raise MemoryError("no room to hash")

        def hexdigest(self):
            return ""

    chain = digests._Chain(BrokenHash())
    chain.feed(b"12345678")
    with pytest.raises(MemoryError):
        for _ in range(100):  # one of these meets the failure instead of waiting for room
            chain.feed(b"abcdefgh")
    with pytest.raises(MemoryError):
        chain.hexdigest()
