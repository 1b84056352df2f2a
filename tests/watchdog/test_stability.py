import os

import pytest

from fundus_watchdog.stability import StabilityTracker


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def tracker(clock):
    return StabilityTracker(window=5.0, timeout=30.0, clock=clock)


def test_a_file_is_stable_only_after_the_window_without_change(tracker, clock, tmp_path):
    f = tmp_path / "a.jpg"
    f.write_bytes(b"x" * 100)
    assert not tracker.observe(f)  # first sight
    clock.now += 4.9
    assert not tracker.observe(f)
    assert tracker.wait_left(f) == pytest.approx(0.1)
    clock.now += 0.1
    assert tracker.observe(f)


def test_one_look_is_never_enough_even_for_an_old_modification_time(tracker, clock, tmp_path):
    # Copy tools keep the source's mtime while bytes still arrive: an old mtime proves nothing.
    f = tmp_path / "a.jpg"
    f.write_bytes(b"x")
    os.utime(f, (0, 0))
    assert not tracker.observe(f)


def test_growth_restarts_the_window(tracker, clock, tmp_path):
    f = tmp_path / "a.jpg"
    f.write_bytes(b"x")
    tracker.observe(f)
    for _ in range(5):
        clock.now += 4
        with open(f, "ab") as out:
            out.write(b"more")
        assert not tracker.observe(f)
    clock.now += 5
    assert tracker.observe(f)


def test_a_rewrite_of_the_same_size_restarts_the_window(tracker, clock, tmp_path):
    f = tmp_path / "a.jpg"
    f.write_bytes(b"aaaa")
    os.utime(f, ns=(1_000_000_000, 1_000_000_000))
    tracker.observe(f)
    clock.now += 4
    f.write_bytes(b"bbbb")
    os.utime(f, ns=(2_000_000_000, 2_000_000_000))
    assert not tracker.observe(f)
    clock.now += 4
    assert not tracker.observe(f)
    clock.now += 1
    assert tracker.observe(f)


def test_a_file_the_camera_still_holds_locked_is_not_stable(tracker, clock, tmp_path, monkeypatch):
    f = tmp_path / "a.jpg"
    f.write_bytes(b"x")
    tracker.observe(f)
    clock.now += 10
    real_open = open

    def locked(path, *args, **kwargs):
        if str(path) == str(f):
            raise PermissionError(13, "The process cannot access the file", str(f))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", locked)
    assert not tracker.observe(f)
    monkeypatch.setattr("builtins.open", real_open)
    clock.now += 5
    assert not tracker.observe(f)  # unlocked: its window starts now
    clock.now += 5
    assert tracker.observe(f)


def test_a_vanished_file_is_forgotten(tracker, clock, tmp_path):
    f = tmp_path / "a.jpg"
    f.write_bytes(b"x")
    tracker.observe(f)
    f.unlink()
    assert not tracker.observe(f)
    assert tracker.signature(f) is None


def test_a_file_still_changing_after_the_timeout_is_flagged_once(tracker, clock, tmp_path):
    f = tmp_path / "a.jpg"
    f.write_bytes(b"x")
    tracker.observe(f)
    for _ in range(8):
        clock.now += 4
        with open(f, "ab") as out:
            out.write(b"x")
        tracker.observe(f)
    assert tracker.overdue(f)
    assert not tracker.overdue(f)
