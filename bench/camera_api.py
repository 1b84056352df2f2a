"""Camera API benchmark: N examinations from several concurrent camera clients, in one run with
the raw floor of the same bytes.

Each examination is what a camera watchdog does: resolve, upload the left and right JPEGs and a
report with their SHA-256 checksums, then ask for the status.

1. Throughput: examinations/s and files/s from --clients cameras with the worker running, and the
   ratio to the direct-upload floor (read + MD5 + SHA-256 + write/fsync + thumbnail of the same
   images, one process) until every image is in the store.
2. Overhead: with the worker stopped (so thumbnails do not compete for the CPUs) and every request
   body encoded before the clock starts (so the client's own work is not counted), one camera
   times each upload. Its floor is what durably storing the same bytes in a content-addressed
   store takes at the least, measured here on the same disk: MD5 + SHA-256, write + fsync a file,
   rename it to its hash and fsync the directory (a new name is durable only then). The overhead
   is the median upload minus the median floor, for a report and for a 4-5 MB image.

    uv run python bench/camera_api.py              # 60 examinations, 4 clients
    uv run python bench/camera_api.py -n 20 --clients 2
"""

import argparse
import csv
import hashlib
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import (  # noqa: E402
    MB,
    Server,
    _fundushub,
    _raise_interrupt,
    free_port,
    make_samples,
    measure_floor,
)

REPORT = b"<!DOCTYPE html><html><body><h1>Fundus report</h1><p>No DR.</p></body></html>"


def register(server: Server, n: int) -> tuple[str, list[str]]:
    out = subprocess.run(
        _fundushub("manage", "camera_token", "BENCH-CAM", "--lab-unit", "1", "--camera", "1"),
        env=server.env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    token = out.strip().splitlines()[-1]
    subjects = [f"900-{i:05d}-1" for i in range(n)]
    sheet = server.data_dir / "subjects.csv"
    with open(sheet, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["subject_identifier", "initials", "sex", "date_of_birth", "site"])
        w.writerows([s, "BX", "F", "1970-01-01", "1"] for s in subjects)
    server.manage("import_subjects", str(sheet))
    return token, subjects


class Camera:
    """One camera client: its own HTTP session, timing each upload."""

    def __init__(self, base: str, token: str):
        self.api = base + "/api/retinopathy"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Token {token}"
        self.timings: dict[str, list[float]] = {"image": [], "report": []}
        self.errors: list[str] = []

    def upload(self, subject, file_type, name, data: bytes, kind: str) -> None:
        checksum = hashlib.sha256(data).hexdigest()
        t = time.perf_counter()
        r = self.http.post(
            f"{self.api}/{subject}/{file_type}/",
            data={"checksum": checksum},
            files={"file": (name, data, "application/octet-stream")},
            timeout=120,
        )
        self.timings[kind].append(time.perf_counter() - t)
        if r.status_code != 201:
            self.errors.append(f"{subject}/{file_type}: {r.status_code} {r.text[:200]}")

    def examination(self, subject: str, left: Path, right: Path) -> None:
        if (
            self.http.post(f"{self.api}/resolve/", json={"subject_identifier": subject}).status_code
            != 200
        ):
            self.errors.append(f"resolve {subject} failed")
            return
        self.upload(subject, "left", left.name, left.read_bytes(), "image")
        self.upload(subject, "right", right.name, right.read_bytes(), "image")
        self.upload(subject, "report", f"{subject}.html", REPORT, "report")
        status = self.http.get(f"{self.api}/{subject}/status/").json()
        if not status.get("complete"):
            self.errors.append(f"{subject} incomplete: {status}")


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


def measure_overhead(
    server: Server, token: str, subjects: list[str], samples, scratch, raw: RawStore
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
        body, headers = encoded(f"{subject}.html", REPORT)
        timed("report", f"{api}/{subject}/report/", body, headers)
        peers("report", REPORT, body, headers)
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


def pending_images(server: Server) -> int:
    with sqlite3.connect(server.data_dir / "fundushub.sqlite3", timeout=30) as db:
        return db.execute(
            "SELECT count(*) FROM camera_camerafile WHERE image_state = 'pending'"
        ).fetchone()[0]


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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--count", type=int, default=60, help="examinations (default 60)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent cameras (default 4)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--overhead-count",
        type=int,
        default=30,
        help="examinations timed one at a time with the worker stopped (default 30)",
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    tmp = Path(tempfile.mkdtemp(prefix="fundushub-camera-bench-"))
    server = Server(tmp / "data", free_port(), args.workers)
    try:
        print(f"generating {2 * args.count} JPEGs ...", flush=True)
        (tmp / "images").mkdir()
        samples = make_samples(tmp / "images", 2 * args.count)
        total_mb = sum(s.size for s in samples) / MB
        floor = measure_floor(samples, tmp / "floor")
        print(f"floor: {len(samples) / floor['seconds']:.2f} images/s", flush=True)

        server.start()
        token, subjects = register(server, args.count + args.overhead_count)
        subjects, overhead_subjects = subjects[: args.count], subjects[args.count :]
        cameras = [Camera(server.url, token) for _ in range(args.clients)]
        local = threading.local()
        pool = iter(range(args.clients))
        lock = threading.Lock()

        def run(i: int) -> None:
            if not hasattr(local, "camera"):
                with lock:
                    local.camera = cameras[next(pool)]
            local.camera.examination(subjects[i], samples[2 * i].path, samples[2 * i + 1].path)

        print(f"{args.count} examinations from {args.clients} cameras ...", flush=True)
        start = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as ex:
            list(ex.map(run, range(args.count)))
        api_seconds = time.perf_counter() - start
        while pending_images(server):
            server.check_alive()
            time.sleep(0.1)
        all_seconds = time.perf_counter() - start
        print(f"overhead: {args.overhead_count} examinations, one camera, worker stopped ...")
        server.stop_workers()
        raw = RawStore(tmp / "raw-store")
        try:
            overhead = measure_overhead(
                server, token, overhead_subjects, samples, tmp / "durable", raw
            )
        finally:
            raw.stop()
    except KeyboardInterrupt:
        return 130
    finally:
        server.stop()

    errors = [e for c in cameras for e in c.errors]
    images = [t for c in cameras for t in c.timings["image"]]
    reports = [t for c in cameras for t in c.timings["report"]]
    files = 3 * args.count
    ratio = (len(samples) / all_seconds) / (len(samples) / floor["seconds"])
    rows = [
        (
            "examinations",
            f"{args.count} ({files} files, {total_mb:.0f} MB of images), {args.clients} cameras",
        ),
        (
            "API: examinations/s, files/s",
            f"{args.count / api_seconds:.2f}, {files / api_seconds:.2f}",
        ),
        (
            "with every image in the store (thumbnail made)",
            f"{all_seconds:.1f} s, {total_mb / all_seconds:.1f} MB/s",
        ),
        ("floor (one process): images/s", f"{len(samples) / floor['seconds']:.2f}"),
        ("ours / floor (images/s, end to end)", f"**{ratio:.2f}×**"),
        (
            "ping (token check only), one camera: median over HTTP, inside the server",
            f"{overhead['ping']:.1f} ms, {overhead['ping inside']:.1f} ms",
        ),
        *(
            row
            for kind, label in (
                ("report", "report upload"),
                ("image", f"image upload ({total_mb / len(samples):.1f} MB)"),
            )
            for row in _upload_rows(overhead, kind, label)
        ),
        (
            f"image upload with {args.clients} cameras and the worker running, median",
            f"{1000 * statistics.median(images):.1f} ms (report: "
            f"{1000 * statistics.median(reports):.1f} ms)",
        ),
        ("errors", str(len(errors))),
    ]
    print("\n| measure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    for e in errors[:10]:
        print("error:", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
