"""The camera API's upload overhead (bench/camera_api.py, phase 2).

With the worker stopped (so thumbnails do not compete for the CPUs) and every request body encoded
before the clock starts (so the client's own work is not counted), one camera times each upload.
Its floor is what durably storing the same bytes in a content-addressed store takes at the least,
measured here on the same disk: MD5 + SHA-256, write + fsync a file, rename it to its hash and
fsync the directory (a new name is durable only then). The overhead is the median upload minus the
median floor, for a report and for a 4-5 MB image. bench/raw_store.py, a bare WSGI app under the
same gunicorn doing only that, answers the very same bodies, interleaved upload by upload.
"""

import hashlib
import os
import statistics
import subprocess
import sys
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import requests
from ingest import free_port

_HASHERS = ThreadPoolExecutor(2)


def _done(value) -> Future:
    future = Future()
    future.set_result(value)
    return future


def durable_store_seconds(data: bytes, scratch: Path, parallel: bool = False) -> float:
    """The least a durable content-addressed store does: hash, write + fsync, rename, fsync dir.

    With `parallel`, MD5 and SHA-256 run on two threads while the file is written and fsynced,
    as the server does them: the floor for a server that overlaps them.
    """
    scratch.mkdir(exist_ok=True)
    start = time.perf_counter()
    if parallel:
        md5 = _HASHERS.submit(lambda: hashlib.md5(data, usedforsecurity=False).hexdigest())
        sha = _HASHERS.submit(lambda: hashlib.sha256(data).hexdigest())
    else:  # inline: a thread hand-off would make this floor slower than it is
        md5 = _done(hashlib.md5(data, usedforsecurity=False).hexdigest())
        sha = _done(hashlib.sha256(data).hexdigest())
    tmp = scratch / uuid.uuid4().hex
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    final = scratch / f"{sha.result()}-{md5.result()}-{uuid.uuid4().hex}"
    os.replace(tmp, final)
    fd = os.open(scratch, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    seconds = time.perf_counter() - start
    final.unlink()
    return seconds


def encoded(name: str, data: bytes) -> tuple[bytes, dict]:
    """A multipart body with the file and its checksum, as a camera sends it."""
    b = uuid.uuid4().hex
    head = (
        f'--{b}\r\nContent-Disposition: form-data; name="checksum"\r\n\r\n'
        f"{hashlib.sha256(data).hexdigest()}\r\n"
        f'--{b}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body = head + data + f"\r\n--{b}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={b}"}


class RawStore:
    """bench/raw_store.py under the same gunicorn (gthread) as ours: the floor over HTTP."""

    def __init__(self, store: Path):
        store.mkdir()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        env = dict(os.environ, RAW_STORE_DIR=str(store))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}",
             "--worker-class", "gthread", "--workers", "1", "--threads", "8",
             "--no-control-socket", "--log-level", "warning",
             "--chdir", str(Path(__file__).resolve().parent), "raw_store:app"],
            env=env,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.post(self.url, data=b"x", timeout=2)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise SystemExit("bench/raw_store.py did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def overhead_phase(server, token: str, subjects: list[str], samples, tmp: Path, report: bytes):
    """The workers stopped, bench/raw_store.py started beside ours for the same bodies."""
    server.stop_workers()
    raw = RawStore(tmp / "raw-store")
    try:
        return measure_overhead(server, token, subjects, samples, tmp / "durable", raw, report)
    finally:
        raw.stop()


def measure_overhead(
    server, token: str, subjects: list[str], samples, scratch, raw: RawStore, report: bytes
) -> dict:
    """One camera, no worker running, bodies encoded beforehand: each upload's own time."""
    http = requests.Session()
    http.headers["Authorization"] = f"Token {token}"
    api = server.url + "/api/retinopathy"
    for _ in range(100):  # every server thread has its database connection open
        http.get(f"{api}/ping/")
    times = {"ping": [], "report": [], "image": []}
    inside = {"ping": [], "report": [], "image": []}  # the server's own time (Server-Timing)
    floors = {"report": [], "image": []}
    parallel_floors = {"report": [], "image": []}
    bare = {"report": [], "image": []}  # the same body to bench/raw_store.py
    bare_http = requests.Session()

    def peers(kind: str, data: bytes, body: bytes, headers: dict) -> None:
        """The same upload to the bare server, then the two durable-store floors."""
        start = time.perf_counter()
        bare_http.post(raw.url, data=body, headers=headers, timeout=120).raise_for_status()
        bare[kind].append(time.perf_counter() - start)
        floors[kind].append(durable_store_seconds(data, scratch))
        parallel_floors[kind].append(durable_store_seconds(data, scratch, parallel=True))

    def timed(kind: str, url: str, body: bytes = b"", headers=None) -> None:
        start = time.perf_counter()
        if body:
            r = http.post(url, data=body, headers=headers, timeout=120)
        else:
            r = http.get(url, timeout=30)
        times[kind].append(time.perf_counter() - start)
        if r.status_code not in (200, 201):
            raise SystemExit(f"{url}: {r.status_code} {r.text[:300]}")
        inside[kind].append(float(r.headers["Server-Timing"].partition("dur=")[2]) / 1000)

    for i, subject in enumerate(subjects):
        http.post(f"{api}/resolve/", json={"subject_identifier": subject}).raise_for_status()
        pair = (samples[(2 * i) % len(samples)], samples[(2 * i + 1) % len(samples)])
        for file_type, sample in zip(("left", "right"), pair, strict=True):
            data = sample.path.read_bytes()
            body, headers = encoded(sample.path.name, data)
            timed("image", f"{api}/{subject}/{file_type}/", body, headers)
            peers("image", data, body, headers)
        body, headers = encoded(f"{subject}.html", report)
        timed("report", f"{api}/{subject}/report/", body, headers)
        peers("report", report, body, headers)
        timed("ping", f"{api}/ping/")
    series = {
        "": times,
        " inside": inside,
        " floor": floors,
        " parallel floor": parallel_floors,
        " bare": bare,
    }
    return {
        f"{kind}{suffix}": 1000 * statistics.median(values)
        for suffix, measured in series.items()
        for kind, values in measured.items()
    }


def _upload_rows(overhead: dict, kind: str, label: str) -> list[tuple[str, str]]:
    """Median time of one upload, and its overhead above each durable-store floor."""
    http, inside = overhead[kind], overhead[kind + " inside"]
    serial, parallel = overhead[kind + " floor"], overhead[kind + " parallel floor"]
    bare = overhead[kind + " bare"]
    return [
        (
            f"{label}, one camera: median over HTTP / inside the server",
            f"{http:.1f} / {inside:.1f} ms",
        ),
        (
            f"{label}: durable-store floor, digests one after the other / on two threads",
            f"{serial:.1f} / {parallel:.1f} ms",
        ),
        (
            f"**{label} overhead over HTTP / inside**, above the one-thread floor",
            f"**{http - serial:.1f} / {inside - serial:.1f} ms**",
        ),
        (
            f"{label} overhead over HTTP / inside, above the two-thread floor",
            f"{http - parallel:.1f} / {inside - parallel:.1f} ms",
        ),
        (f"{label}: bare WSGI durable store (bench/raw_store.py) over HTTP", f"{bare:.1f} ms"),
        (f"**{label}: ours minus the bare store, over HTTP**", f"**{http - bare:.1f} ms**"),
    ]


def overhead_rows(overhead: dict, image_mb: float) -> list[tuple[str, str]]:
    rows = [
        (
            "ping (token check only), one camera: median over HTTP, inside the server",
            f"{overhead['ping']:.1f} ms, {overhead['ping inside']:.1f} ms",
        )
    ]
    for kind, label in (
        ("report", "report upload"),
        ("image", f"image upload ({image_mb:.1f} MB)"),
    ):
        rows += _upload_rows(overhead, kind, label)
    return rows
