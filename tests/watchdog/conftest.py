"""The watchdog's test world: a stub camera API (both server generations), a camera writing into
a watch folder with its SQLite database, and settings with small timings (nothing here waits the
real 5 s stability window or 60 s sweep). Every test fails if it leaks a thread or a warning."""

import gc
import threading
import time
import warnings

import pytest

from fundus_watchdog.config import build_config
from fundus_watchdog.simulate import Camera

from .stub_server import StubCameraServer

SUBJECT = "105-10-0989-3"


@pytest.fixture(autouse=True)
def fast_password_hashing():
    """The root conftest's Django fixtures do not concern the watchdog (it imports no Django)."""


@pytest.fixture(autouse=True)
def isolated_storage():
    """See fast_password_hashing."""


@pytest.fixture(autouse=True, scope="package")
def small_heap_for_gc():
    """Freeze what was loaded before (Django, via the root conftest), so the gc.collect() of
    no_warnings only walks what the tests create: milliseconds instead of ~0.1 s per test."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.fixture(autouse=True)
def no_leaked_threads():
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 3
    while True:
        leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert not leaked, f"the test left threads running: {[t.name for t in leaked]}"


@pytest.fixture(autouse=True)
def no_warnings():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
        gc.collect()  # unclosed files, sockets and databases warn when collected
    assert not caught, "the test emitted warnings:\n" + "\n".join(
        f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught
    )


@pytest.fixture
def stub():
    server = StubCameraServer("older").start()
    yield server
    server.stop()


@pytest.fixture
def newer_stub():
    server = StubCameraServer("newer").start()
    yield server
    server.stop()


@pytest.fixture
def stub_1_4_0():
    """edc-retinopathy 1.4.0: a newer server whose status answers for the newest register."""
    server = StubCameraServer("newer", version="1.4.0").start()
    yield server
    server.stop()


@pytest.fixture
def watch_dir(tmp_path):
    folder = tmp_path / "RetCamOutput"
    folder.mkdir()
    return folder


@pytest.fixture
def camera(watch_dir):
    """Writes whole examinations at once (tests of slow writing write their own bytes)."""
    return Camera(watch_dir, chunk_delay=0, image_size=(64, 48), seed=1)


FAST = {
    "stable_seconds": 0.2,
    "stability_timeout": 2,
    "sweep_interval": 1,
    "retry_delay": 0.01,
    "max_retry_delay": 0.05,
    "request_timeout": 2,
    "failure_backoff_max": 1,
    "workers": 2,
    "log_file": "",
}


@pytest.fixture
def make_config(watch_dir):
    def make(server=None, **overrides):
        values = {
            "watch_dir": str(watch_dir),
            "db_path": str(watch_dir / "camera.db"),
            "api_url": server.url if server else "http://127.0.0.1:9",
            "token": server.token if server else "test-token",
            "device_id": "RET-CAM-001",
            "site_id": "40",
            **FAST,
            **overrides,
        }
        config, _ = build_config(values, environ={})
        return config

    return make


def registered_exam(camera, server, subject=SUBJECT, report_type="combined"):
    """An examination on disk whose subject the (older) server knows, with matching demographics."""
    exam = camera.examination(subject, report_type)
    server.register(subject, exam.initials, exam.sex, exam.age)
    return exam


def wait_for(predicate, timeout=10.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
