"""Camera API benchmark: N examinations from several concurrent camera clients, in one run with
the raw floor of the same bytes.

Each examination is what a camera watchdog does: resolve, upload the left and right JPEGs and a
report with their SHA-256 checksums, then ask for the status.

1. Throughput: examinations/s and files/s from --clients cameras with the worker running, and the
   ratio to the direct-upload floor (read + MD5 + SHA-256 + write/fsync + thumbnail of the same
   images, one process) until every image is in the store. With --storage s3 the server keeps its
   bytes in a SeaweedFS bucket started for the run, and the floor PUTs the original and the
   thumbnail into the same bucket instead of writing them.
2. Overhead (bench/upload_overhead.py): one camera, the worker stopped, each upload timed against
   durable-store floors on the same disk and a bare server; local storage only.

    uv run python bench/camera_api.py              # 60 examinations, 4 clients
    uv run python bench/camera_api.py -n 20 --clients 2
    uv run python bench/camera_api.py -n 30 --workers 3 --storage s3
"""

import argparse
import csv
import hashlib
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import (  # noqa: E402
    MB,
    CpuMeter,
    Server,
    _fundushub,
    _raise_interrupt,
    _s3_cpu,
    free_port,
    make_samples,
    measure_floor,
)
from object_storage import add_argument, open_storage  # noqa: E402
from upload_overhead import overhead_phase, overhead_rows  # noqa: E402

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


def pending_images(server: Server) -> int:
    with sqlite3.connect(server.data_dir / "fundushub.sqlite3", timeout=30) as db:
        return db.execute(
            "SELECT count(*) FROM camera_camerafile WHERE image_state = 'pending'"
        ).fetchone()[0]


def throughput(server: Server, token: str, subjects: list[str], samples, clients: int):
    """Every examination sent by `clients` cameras at once; (cameras, API s, until stored s)."""
    cameras = [Camera(server.url, token) for _ in range(clients)]
    local = threading.local()
    pool = iter(range(clients))
    lock = threading.Lock()

    def run(i: int) -> None:
        if not hasattr(local, "camera"):
            with lock:
                local.camera = cameras[next(pool)]
        local.camera.examination(subjects[i], samples[2 * i].path, samples[2 * i + 1].path)

    print(f"{len(subjects)} examinations from {clients} cameras ...", flush=True)
    roles = {"web": [server.web.pid], "worker": [p.pid for p in server.worker_procs]}
    cpu = CpuMeter({**roles, **server.storage.cpu_roles})
    cpu.start()
    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as ex:
        list(ex.map(run, range(len(subjects))))
    api_seconds = time.perf_counter() - start
    while pending_images(server):
        server.check_alive()
        time.sleep(0.1)
    all_seconds = time.perf_counter() - start
    used = cpu.stop()
    print(
        f"CPU seconds until stored: web {used['web']:.1f}, worker {used['worker']:.1f}, "
        f"client {used['client']:.1f}{_s3_cpu(used)}, other processes on the machine "
        f"{used['other']:.1f} ({used['wall']:.1f} s wall)"
    )
    return cameras, api_seconds, all_seconds


def parse(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--count", type=int, default=60, help="examinations (default 60)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent cameras (default 4)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--overhead-count",
        type=int,
        help="examinations timed one at a time with the worker stopped (default 30; 0 skips "
        "this phase, as --storage s3 does: its floors are local-disk stores)",
    )
    add_argument(parser)
    args = parser.parse_args(argv)
    if args.overhead_count is None:
        args.overhead_count = 30 if args.storage == "local" else 0
    if args.storage == "s3" and args.overhead_count:
        parser.error("the overhead phase compares with local-disk floors: not with --storage s3")
    return args


def main(argv=None) -> int:
    args = parse(argv)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    tmp = Path(tempfile.mkdtemp(prefix="fundushub-camera-bench-"))
    server = storage = None
    overhead = {}
    try:
        storage = open_storage(args.storage, tmp / "s3")
        server = Server(tmp / "data", free_port(), args.workers, storage)
        print(f"generating {2 * args.count} JPEGs ...", flush=True)
        (tmp / "images").mkdir()
        samples = make_samples(tmp / "images", 2 * args.count)
        floor = measure_floor(samples, tmp / "floor", storage.put)
        print(f"floor: {len(samples) / floor['seconds']:.2f} images/s", flush=True)

        server.start()
        token, subjects = register(server, args.count + args.overhead_count)
        cameras, api_seconds, all_seconds = throughput(
            server, token, subjects[: args.count], samples, args.clients
        )
        if args.overhead_count:
            print(f"overhead: {args.overhead_count} examinations, one camera, worker stopped ...")
            overhead = overhead_phase(server, token, subjects[args.count :], samples, tmp, REPORT)
    except KeyboardInterrupt:
        return 130
    finally:
        if server is not None:
            server.stop()
        if storage is not None:
            storage.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    errors = [e for c in cameras for e in c.errors]
    rows = report_rows(args, samples, floor, cameras, (api_seconds, all_seconds), overhead)
    print("\n| measure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    for e in errors[:10]:
        print("error:", e)
    return 1 if errors else 0


def report_rows(args, samples, floor, cameras, seconds, overhead) -> list[tuple[str, str]]:
    api_seconds, all_seconds = seconds
    images = [t for c in cameras for t in c.timings["image"]]
    reports = [t for c in cameras for t in c.timings["report"]]
    files = 3 * args.count
    total_mb = sum(s.size for s in samples) / MB
    ratio = (len(samples) / all_seconds) / (len(samples) / floor["seconds"])
    store = "S3 PUTs" if "put" in floor["phases"] else "write/fsync"
    return [
        (
            "examinations",
            f"{args.count} ({files} files, {total_mb:.0f} MB of images), {args.clients} cameras, "
            f"{args.workers} worker(s), storage {args.storage}",
        ),
        (
            "API: examinations/s, files/s",
            f"{args.count / api_seconds:.2f}, {files / api_seconds:.2f}",
        ),
        (
            "with every image in the store (thumbnail made)",
            f"{all_seconds:.1f} s, {len(samples) / all_seconds:.2f} images/s, "
            f"{total_mb / all_seconds:.1f} MB/s",
        ),
        (f"floor (one process, {store}): images/s", f"{len(samples) / floor['seconds']:.2f}"),
        ("ours / floor (images/s, end to end)", f"**{ratio:.2f}×**"),
        *(overhead_rows(overhead, total_mb / len(samples)) if overhead else []),
        (
            f"image upload with {args.clients} cameras and the worker running, median",
            f"{1000 * statistics.median(images):.1f} ms (report: "
            f"{1000 * statistics.median(reports):.1f} ms)",
        ),
        ("errors", str(sum(len(c.errors) for c in cameras))),
    ]


if __name__ == "__main__":
    sys.exit(main())
