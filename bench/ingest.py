"""Ingest benchmark: direct uploads end to end against the raw single-process floor, in one run.

Generates N distinct fundus-like JPEGs of 4-5 MB, then

1. the floor: one plain Python loop over the same files doing the unavoidable work
   (read, MD5 + SHA-256, write a copy with fsync, a draft()-decoded thumbnail), and
2. ours: a fresh `fundushub serve` + worker(s) on a fresh data directory, every file uploaded
   through /direct/upload in batches, timed from the first upload byte until the last item is
   terminal, with every completed image's thumbnail checked on disk.

It samples the web and worker processes' RSS every 0.1 s (and reads the kernel's VmHWM) and
prints a table ready for the README. MB here is 10^6 bytes.

Ours runs twice in the same run, each on a fresh server: with the checks at ingest off
(FUNDUSHUB_CHECKS=off; the figures above) and on. With them on, the throughput is still files
stored per second (the checks run below storing, draining behind it); the run then waits for the
last check and reports when it finished and what each check cost per image (bench/ingest_checks.py).

    uv run python bench/ingest.py            # N=200, batches of 20, one worker
    uv run python bench/ingest.py -n 50 --workers 2 --clients 2
    uv run python bench/ingest.py -n 100 --workers 3 --storage s3   # bytes in a SeaweedFS bucket

With --storage s3 the floor PUTs the original and the thumbnail into the same bucket instead of
writing them to disk.
"""

import argparse
import contextlib
import ctypes
import datetime as dt
import hashlib
import io
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import ingest_checks
import requests
from object_storage import LocalFiles, add_argument, open_storage
from PIL import Image, ImageChops, ImageDraw

WIDTH, HEIGHT = 3000, 2400
MIN_SIZE, MAX_SIZE = 4_000_000, 5_000_000  # the server's default limit is 5 MiB = 5,242,880
THUMB = 384
PASSWORD = "bench-" + uuid.uuid4().hex[:12]
USERNAME = "uploader"
MB = 1e6


# ---------------------------------------------------------------------------------------------
# Test images


@dataclass
class Sample:
    path: Path
    size: int
    sha256: str


def _base_image(seed: int, sigma: float) -> Image.Image:
    """A noisy orange disc on black with an optic disc and dark vessel-like curves."""
    rnd = random.Random(seed)
    w, h = WIDTH, HEIGHT
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).ellipse((w * 0.08, h * 0.02, w * 0.92, h * 0.98), fill=255)
    disc = Image.new("RGB", (w, h), (195 + seed % 20, 85 + seed % 15, 30))
    draw = ImageDraw.Draw(disc)
    ox, oy = w * rnd.uniform(0.6, 0.68), h * rnd.uniform(0.42, 0.5)
    draw.ellipse((ox - 150, oy - 180, ox + 150, oy + 180), fill=(250, 210, 130))
    for _ in range(40):
        x, y = ox, oy
        points = [(x, y)]
        for _ in range(12):
            x += rnd.uniform(-250, 250)
            y += rnd.uniform(-200, 200)
            points.append((x, y))
        draw.line(points, fill=(120, 30, 20), width=rnd.randint(4, 18), joint="curve")
    noise = Image.merge("RGB", [Image.effect_noise((w, h), sigma) for _ in range(3)])
    disc = ImageChops.add(disc, noise, 1.0, -128)
    out = Image.new("RGB", (w, h), (0, 0, 0))
    out.paste(disc, (0, 0), mask)
    return out


def _encode(im: Image.Image, quality: int, comment: str) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, comment=comment.encode())
    return buf.getvalue()


def make_samples(directory: Path, count: int) -> list[Sample]:
    """count distinct JPEGs: a few noise bases, each file with its own pixels and comment."""
    bases = [_base_image(seed, 30 + 2 * seed) for seed in range(min(4, count))]
    samples = []
    for i in range(count):
        im = bases[i % len(bases)].copy()
        draw = ImageDraw.Draw(im)
        rnd = random.Random(i)
        for _ in range(8):  # a few pixels of its own, so even the decoded images differ
            x, y = rnd.randrange(800, 2200), rnd.randrange(600, 1800)
            draw.rectangle((x, y, x + 6, y + 6), fill=tuple(rnd.randrange(256) for _ in "rgb"))
        draw.text((40, 40), f"bench #{i}", fill=(255, 255, 255))
        quality = 96
        while True:
            data = _encode(im, quality, f"fundushub bench {i} {uuid.uuid4()}")
            if len(data) > MAX_SIZE and quality > 80:
                quality -= 1
            elif len(data) < MIN_SIZE and quality < 99:
                quality += 1
            else:
                break
        path = directory / f"fundus_{i:05d}.jpg"
        path.write_bytes(data)
        samples.append(Sample(path, len(data), hashlib.sha256(data).hexdigest()))
    sizes = [s.size for s in samples]
    if not all(MIN_SIZE <= n <= MAX_SIZE for n in sizes):
        raise SystemExit(f"generated sizes out of range: {min(sizes)}..{max(sizes)} bytes")
    if len({s.sha256 for s in samples}) != count:
        raise SystemExit("generated files are not all distinct")
    return samples


# ---------------------------------------------------------------------------------------------
# The floor: the same necessary work, one plain process, no framework


def original_key(sha256: str) -> str:
    return f"originals/{sha256[:2]}/{sha256}"  # the server's keys (store/blobs.py)


def thumbnail_key(sha256: str) -> str:
    return f"thumbs/{sha256[:2]}/{sha256}.jpg"


def thumbnail_bytes(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as im:
        im.draft("RGB", (THUMB, THUMB))
        im.load()
        im.thumbnail((THUMB, THUMB), Image.Resampling.BILINEAR)
        out = io.BytesIO()
        im.save(out, "JPEG", quality=82)
    return out.getvalue()


def measure_floor(samples: list[Sample], scratch: Path, put=None) -> dict:
    """With `put(key, data)` (a bucket), the original and the thumbnail are PUT there instead."""
    scratch.mkdir()
    store = "put" if put else "write+fsync"
    phases = {"read": 0.0, "hash": 0.0, store: 0.0, "thumbnail": 0.0}
    start = time.perf_counter()
    for s in samples:
        t0 = time.perf_counter()
        data = s.path.read_bytes()
        t1 = time.perf_counter()
        md5, sha = hashlib.md5(data, usedforsecurity=False), hashlib.sha256(data)
        md5.hexdigest(), sha.hexdigest()
        t2 = time.perf_counter()
        if put:
            put(original_key(s.sha256), data)
        else:
            with open(scratch / s.sha256, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        t3 = time.perf_counter()
        if put:
            put(thumbnail_key(s.sha256), thumbnail_bytes(data))
        else:
            (scratch / f"{s.sha256}.jpg").write_bytes(thumbnail_bytes(data))
        t4 = time.perf_counter()
        for name, a, b in (("read", t0, t1), ("hash", t1, t2), (store, t2, t3)):
            phases[name] += b - a
        phases["thumbnail"] += t4 - t3
    seconds = time.perf_counter() - start
    shutil.rmtree(scratch)
    return {"seconds": seconds, "phases": phases}


# ---------------------------------------------------------------------------------------------
# Processes and their memory


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if the benchmark itself is killed outright."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _child_env(data_dir: Path) -> dict:
    env = dict(os.environ)
    for name in ("DATABASE_URL", "FUNDUSHUB_S3_BUCKET"):  # always a fresh SQLite + local files
        env.pop(name, None)
    env["FUNDUSHUB_DATA_DIR"] = str(data_dir)
    env.setdefault("LOG_LEVEL", "WARNING")
    return env


def _fundushub(*args: str) -> list[str]:
    # The interpreter itself (not `uv run`), so the pid we watch is the server's own.
    return [sys.executable, "-m", "fundushub", *args]


CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (all its threads)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0


def busy_seconds() -> float:
    """CPU time the whole machine spent busy (all CPUs, all processes)."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks[:8]) - idle) / CLK_TCK


class CpuMeter:
    """CPU seconds per role between start() and stop(); 'other' is everyone else on the machine."""

    def __init__(self, roles: dict[str, list[int]]):
        self.roles = roles

    def _snap(self) -> dict[str, float]:
        snap = {r: sum(tree_cpu_seconds(p) for p in pids) for r, pids in self.roles.items()}
        snap["client"] = cpu_seconds(os.getpid())  # this process only: the servers are children
        snap["machine"] = busy_seconds()
        snap["wall"] = time.monotonic()
        return snap

    def start(self):
        self.before = self._snap()

    def stop(self) -> dict[str, float]:
        after = self._snap()
        used = {k: after[k] - self.before[k] for k in after}
        ours = sum(used[r] for r in self.roles) + used["client"]
        used["other"] = max(0.0, used["machine"] - ours)
        return used


def rss_kb(pid: int, key: str = "VmRSS") -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def process_tree(pid: int) -> list[int]:
    """pid and all its descendants (a pre-forking web server's workers count as the web)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        with contextlib.suppress(OSError):
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
    return found


def tree_kb(pid: int, key: str = "VmRSS") -> int:
    return sum(rss_kb(p, key) for p in process_tree(pid))


def tree_cpu_seconds(pid: int) -> float:
    return sum(cpu_seconds(p) for p in process_tree(pid))


class RssSampler(threading.Thread):
    """Polls the RSS of each watched process tree every interval seconds; keeps each peak."""

    def __init__(self, pids: dict[str, list[int]], interval: float = 0.1):
        super().__init__(name="rss-sampler", daemon=True)
        self.pids = pids
        self.interval = interval
        self.peak: dict[int, int] = {}
        self.stop_event = threading.Event()

    def run(self):
        while not self.stop_event.wait(self.interval):
            for pids in self.pids.values():
                for pid in pids:
                    self.peak[pid] = max(self.peak.get(pid, 0), tree_kb(pid))

    def stop(self):
        self.stop_event.set()
        self.join()


def idle_baseline(pids: list[int], seconds: float = 1.0) -> dict[int, int]:
    """Each process tree's mean RSS over a short idle window; then reset the kernel's peaks."""
    samples: dict[int, list[int]] = {pid: [] for pid in pids}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for pid in pids:
            samples[pid].append(tree_kb(pid))
        time.sleep(0.1)
    for pid in (p for root in pids for p in process_tree(root)):
        with contextlib.suppress(OSError), open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
    return {pid: sum(v) // len(v) for pid, v in samples.items()}


class Server:
    """A fresh fundushub web server and worker(s) on their own data directory."""

    def __init__(self, data_dir: Path, port: int, workers: int, storage=None, env=None):
        self.data_dir = data_dir
        self.port = port
        self.workers = workers
        self.storage = storage or LocalFiles()
        self.env = {**_child_env(data_dir), **self.storage.env, **(env or {})}
        self.procs: list[tuple[str, subprocess.Popen, Path]] = []
        self.url = f"http://127.0.0.1:{port}"

    def manage(self, *args: str) -> None:
        result = subprocess.run(
            _fundushub("manage", *args), env=self.env, capture_output=True, text=True
        )
        if result.returncode:
            raise SystemExit(f"manage {' '.join(args)} failed:\n{result.stdout}{result.stderr}")

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = self.data_dir / f"{name}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                _fundushub(*args, "--data-dir", str(self.data_dir)),
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
            )
        self.procs.append((name, proc, log))
        return proc

    def start(self) -> None:
        self.manage("migrate", "--verbosity", "0")
        self.manage("load_reference_data", "--demo")
        self.manage("create_demo_users", "--password", PASSWORD)
        self.web = self._spawn("web", "serve", "--host", "127.0.0.1", "--port", str(self.port))
        self.worker_procs = [self._spawn(f"worker{i}", "worker") for i in range(self.workers)]
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        pending = {name for name, _, _ in self.procs}
        while pending:
            self.check_alive()
            for name, _, log in self.procs:
                if name not in pending:
                    continue
                if name == "web":
                    with contextlib.suppress(requests.RequestException):
                        if requests.get(self.url + "/accounts/login/", timeout=2).ok:
                            pending.discard(name)
                elif b"Worker ready." in log.read_bytes():
                    pending.discard(name)
            if time.monotonic() > deadline:
                raise SystemExit(f"not ready after {timeout:.0f} s: {', '.join(sorted(pending))}")
            time.sleep(0.1)

    def check_alive(self) -> None:
        for name, proc, log in self.procs:
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-3000:]
                raise SystemExit(f"{name} exited with {proc.returncode}:\n{tail}")

    def stop_workers(self) -> None:
        """Stop the worker processes only (the web server keeps serving)."""
        workers = [entry for entry in self.procs if entry[0].startswith("worker")]
        for _, proc, _ in workers:
            proc.send_signal(signal.SIGTERM)
        for entry in workers:
            entry[1].wait(timeout=30)
            self.procs.remove(entry)

    def stop(self) -> None:
        # SIGTERM, not SIGINT: a shell without job control starts children with SIGINT ignored.
        for _, proc, _ in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _, proc, _ in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# ---------------------------------------------------------------------------------------------
# The client


class MultipartBody:
    """A multipart/form-data body streamed from the files in 1 MB chunks, with a known length."""

    CHUNK = 1024 * 1024

    def __init__(self, fields: dict, paths: list[Path]):
        self.boundary = uuid.uuid4().hex
        b = self.boundary.encode()
        self.parts: list[bytes | Path] = []
        for name, value in fields.items():
            disposition = f'Content-Disposition: form-data; name="{name}"'.encode()
            self.parts.append(b"--" + b + b"\r\n" + disposition + b"\r\n\r\n" + str(value).encode())
            self.parts.append(b"\r\n")
        for path in paths:
            disposition = f'Content-Disposition: form-data; name="files"; filename="{path.name}"'
            head = f"{disposition}\r\nContent-Type: image/jpeg\r\n\r\n".encode()
            self.parts.extend([b"--" + b + b"\r\n" + head, path, b"\r\n"])
        self.parts.append(b"--" + b + b"--\r\n")
        self.length = sum(p.stat().st_size if isinstance(p, Path) else len(p) for p in self.parts)

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return self.length

    def __iter__(self):
        for part in self.parts:
            if isinstance(part, bytes):
                yield part
                continue
            with open(part, "rb") as f:
                while chunk := f.read(self.CHUNK):
                    yield chunk


def login(base: str) -> requests.Session:
    s = requests.Session()
    s.get(base + "/accounts/login/", timeout=30).raise_for_status()
    r = s.post(
        base + "/accounts/login/",
        data={
            "username": USERNAME,
            "password": PASSWORD,
            "csrfmiddlewaretoken": s.cookies["csrftoken"],
        },
        headers={"Referer": base + "/accounts/login/"},
        allow_redirects=False,
        timeout=30,
    )
    if r.status_code != 302:
        raise SystemExit(f"login failed: HTTP {r.status_code}")
    return s


def upload_fields(session: requests.Session, base: str) -> dict:
    options = session.get(base + "/api/direct-upload/options", timeout=30).json()
    hospital = options["hospitals"][0]
    return {
        "hospital": hospital["id"],
        "lab_unit": hospital["lab_units"][0]["id"],
        "camera": options["cameras"][0]["id"],
        "disease": options["diseases"][0]["id"],
        "area": options["areas"][0]["id"],
    }


def upload_batch(session: requests.Session, base: str, fields: dict, paths: list[Path]) -> str:
    body = MultipartBody(fields, paths)
    r = session.post(
        base + "/direct/upload",
        data=body,
        headers={
            "Content-Type": body.content_type,
            "X-CSRFToken": session.cookies["csrftoken"],
            "Referer": base + "/direct/upload",
        },
        allow_redirects=False,
        timeout=600,
    )
    location = r.headers.get("Location", "")
    if r.status_code != 303 or "/processing/" not in location:
        raise SystemExit(f"upload failed: HTTP {r.status_code} {r.text[:500]}")
    return location.rstrip("/").rsplit("/", 1)[1]


@dataclass
class Run:
    start: float = 0.0  # wall clock (time.time) of the first upload byte
    uploads_done: float = 0.0
    jobs: list[str] = field(default_factory=list)
    cpu: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def upload_all(base, sessions, fields, samples, batch, run: Run) -> None:
    batches = [[s.path for s in samples[i : i + batch]] for i in range(0, len(samples), batch)]
    errors: list[BaseException] = []

    def client(k: int):
        try:
            for paths in batches[k :: len(sessions)]:
                job = upload_batch(sessions[k], base, fields, paths)
                with run.lock:
                    run.jobs.append(job)
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(len(sessions))]
    run.start = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.uploads_done = time.time()
    if errors:
        raise errors[0]


def wait_terminal(server: Server, session, run: Run, samples, timeout: float) -> dict:
    """Poll every job until finished and every completed image's thumbnail is on disk."""
    base, statuses = server.url, {}
    deadline = time.monotonic() + timeout
    while True:
        server.check_alive()
        for job in run.jobs:
            if job not in statuses or not statuses[job]["finished"]:
                r = session.get(f"{base}/api/upload-jobs/{job}/status", timeout=30)
                r.raise_for_status()
                statuses[job] = r.json()
        if all(s["finished"] for s in statuses.values()):
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"items still pending after {timeout:.0f} s")
        time.sleep(0.2)
    observed = time.time()
    items = [i for s in statuses.values() for i in s["items"]]
    sha_by_name = {s.path.name: s.sha256 for s in samples}
    completed = [i for i in items if i["state"] == "completed"]
    missing = [
        i["filename"]
        for i in completed
        if not server.storage.has(server.data_dir, thumbnail_key(sha_by_name[i["filename"]]))
    ]
    last = max(
        dt.datetime.fromisoformat(s["completed_at"]).timestamp()
        for s in statuses.values()
        if s["completed_at"]
    )
    return {
        "items": len(items),
        "completed": len(completed),
        "errors": sum(1 for i in items if i["state"] == "error"),
        "duplicates": sum(1 for i in items if i["state"] == "duplicate"),
        "error_details": sorted({i["detail"] for i in items if i["state"] == "error"})[:5],
        "missing_thumbs": len(missing),
        "last_terminal": min(last, observed),
        "observed": observed,
    }


# ---------------------------------------------------------------------------------------------
# Report


def _s3_cpu(used: dict) -> str:
    return f", S3 server {used['s3']:.1f}" if "s3" in used else ""


def _mb(kb: int) -> str:
    return f"{kb / 1024:.0f} MiB"


def report(args, samples, floor, run: Run, outcome: dict, memory: dict) -> bool:
    n, total = len(samples), sum(s.size for s in samples)
    floor_s = floor["seconds"]
    ours_s = outcome["last_terminal"] - run.start
    upload_s = run.uploads_done - run.start
    ratio = floor_s / ours_s
    ok = (
        outcome["completed"] == n
        and outcome["errors"] == 0
        and outcome["missing_thumbs"] == 0
        and outcome["items"] == n
    )
    print("\nfloor phases (s):", ", ".join(f"{k} {v:.2f}" for k, v in floor["phases"].items()))
    print(f"uploads finished after {upload_s:.2f} s ({n / upload_s:.2f} files/s received)")
    print(f"last item terminal {outcome['last_terminal'] - run.uploads_done:.2f} s after that")
    fc, rc = floor["cpu"], run.cpu
    print(
        f"CPU seconds during the floor: {fc['client']:.1f} floor loop{_s3_cpu(fc)}, "
        f"{fc['other']:.1f} other processes on the machine ({fc['wall']:.1f} s wall)"
    )
    print(
        f"CPU seconds end to end: web {rc['web']:.1f}, worker {rc['worker']:.1f}, "
        f"client {rc['client']:.1f}{_s3_cpu(rc)}, other processes on the machine {rc['other']:.1f} "
        f"({rc['wall']:.1f} s wall, {os.cpu_count()} CPUs)"
    )
    if fc["other"] > 0.25 * fc["wall"] or rc["other"] > 0.25 * rc["wall"]:
        print("WARNING: other processes were busy during the run; the figures are noisy")
    if outcome["error_details"]:
        print("error details:", outcome["error_details"])

    def row(label, value):
        print(f"| {label} | {value} |")

    print()
    row("Ingest benchmark", f"{dt.date.today().isoformat()}, {machine()}, server {revision()}")
    row("---", "---")
    row(
        "files",
        f"{n} JPEGs, {total / MB / n:.2f} MB each ({total / MB:.0f} MB), batch {args.batch}, "
        f"{args.workers} worker(s), {args.clients} client(s), storage {args.storage}",
    )
    store = (
        "S3 PUT, thumbnail + its S3 PUT" if "put" in floor["phases"] else "write+fsync, thumbnail"
    )
    row(
        f"floor (1 process: read, MD5+SHA-256, {store})",
        f"{n / floor_s:.2f} files/s, {total / MB / floor_s:.1f} MB/s ({floor_s:.1f} s)",
    )
    row(
        "Fundus Hub end to end (first byte → last item terminal)",
        f"{n / ours_s:.2f} files/s, {total / MB / ours_s:.1f} MB/s ({ours_s:.1f} s)",
    )
    row("ours / floor", f"**{ratio:.2f}×**")
    ours_cpu = rc["web"] + rc["worker"]
    row(
        "CPU per file: floor / ours (web + worker)",
        f"{1000 * fc['client'] / n:.0f} ms / {1000 * ours_cpu / n:.0f} ms "
        f"({1000 * rc['web'] / n:.0f} + {1000 * rc['worker'] / n:.0f})",
    )
    for role in ("web", "worker"):
        m = memory[role]
        row(
            f"{role} peak RSS (growth over idle)",
            f"{_mb(m['peak'])} (+{_mb(m['growth'])}); kernel VmHWM {_mb(m['hwm'])}",
        )
    row(
        "outcome",
        f"{outcome['completed']}/{n} completed, {outcome['errors']} errors, "
        f"{outcome['duplicates']} duplicates, {outcome['missing_thumbs']} missing thumbnails",
    )
    print()
    return ok


def machine() -> str:
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    return f"{os.cpu_count()} CPUs {model}".strip()


def revision() -> str:
    """The commit the server code comes from, marked when src/ has uncommitted changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=root, capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        return "unknown"
    return (head or "unknown") + (" + local changes" if dirty else "")


def memory_summary(sampler: RssSampler, baseline: dict[int, int], pids: list[int]) -> dict:
    """The worst process of a role: its peak RSS, its growth over its own idle baseline."""
    peaks = {pid: max(sampler.peak.get(pid, 0), baseline[pid]) for pid in pids}
    hwm = {pid: tree_kb(pid, "VmHWM") for pid in pids}
    return {
        "peak": max(peaks.values()),
        "growth": max(max(peaks[p], hwm[p]) - baseline[p] for p in pids),
        "hwm": max(hwm.values()),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ingest(args, tmp: Path, samples, storage, checks: bool) -> tuple[Run, dict, dict]:
    """One fresh server (checks on or off): upload everything, wait until every file is stored,
    then (checks on) until every check has run. (run, outcome, memory)."""
    label = "on" if checks else "off"
    env = {"FUNDUSHUB_CHECKS": label}
    server = Server(
        tmp / f"data-checks-{label}", args.port or free_port(), args.workers, storage, env
    )
    sampler = None
    try:
        print(f"checks {label}: a fresh server on {server.url}, {args.workers} worker(s) ...")
        server.start()
        sessions = [login(server.url) for _ in range(args.clients)]
        fields = upload_fields(sessions[0], server.url)
        pids = {"web": [server.web.pid], "worker": [p.pid for p in server.worker_procs]}
        baseline = idle_baseline(pids["web"] + pids["worker"])
        sampler = RssSampler(pids)
        sampler.start()

        print(f"  uploading in batches of {args.batch} ...", flush=True)
        run = Run()
        cpu = CpuMeter({**pids, **storage.cpu_roles})
        cpu.start()
        upload_all(server.url, sessions, fields, samples, args.batch, run)
        outcome = wait_terminal(server, sessions[0], run, samples, args.timeout)
        run.cpu = cpu.stop()
        stored = outcome["last_terminal"] - run.start
        print(f"  stored in {stored:.1f} s ({len(samples) / stored:.2f} files/s)", flush=True)
        if checks:
            drained = ingest_checks.wait_drained(
                server.data_dir, outcome["completed"], args.timeout, server.check_alive
            )
            outcome["checks"] = {**drained, "costs": ingest_checks.costs(server.data_dir)}
            outcome["checks"]["cpu"] = cpu.stop()  # from the first byte to the last check
        sampler.stop()
        memory = {role: memory_summary(sampler, baseline, p) for role, p in pids.items()}
        return run, outcome, memory
    finally:
        if sampler is not None and sampler.is_alive():
            sampler.stop()
        server.stop()


def report_checks(samples, off: tuple, on: tuple) -> bool:
    """Stored files per second with checks off and on (on must keep 70 %), when the checks
    finished, and each check's cost per image."""
    n = len(samples)
    (run_off, out_off, _), (run_on, out_on, mem_on) = off, on
    rate_off = n / (out_off["last_terminal"] - run_off.start)
    rate_on = n / (out_on["last_terminal"] - run_on.start)
    ratio = rate_on / rate_off
    checks = out_on["checks"]
    done = checks["last_finished"] - run_on.start
    after = checks["last_finished"] - out_on["last_terminal"]
    stored_ok = out_on["completed"] == n and out_on["errors"] == 0
    cpu = checks["cpu"]

    def row(label, value):
        print(f"| {label} | {value} |")

    row("Checks at ingest", f"{dt.date.today().isoformat()}, {machine()}, server {revision()}")
    row("---", "---")
    row("stored, checks off (FUNDUSHUB_CHECKS=off)", f"{rate_off:.2f} files/s")
    row("stored, checks on (they drain behind)", f"{rate_on:.2f} files/s")
    verdict = "kept (≥ 0.70)" if ratio >= 0.70 else "NOT kept (< 0.70)"
    row("on / off", f"**{ratio:.2f}×** — {verdict}")
    row(
        "all checks finished",
        f"{done:.1f} s after the first byte, {after:.1f} s after the last file was stored "
        f"({checks['tasks']} images, {checks['failed']} check tasks not successful)",
    )
    row(
        "checks per image (one task: decode once + every check)",
        ingest_checks.summary(checks["per_image_ms"]),
    )
    for entry in checks["costs"]:
        verdicts = ", ".join(f"{v} {k}" for k, v in sorted(entry["verdicts"].items()))
        row(
            f"check `{entry['name']}` per image",
            f"{ingest_checks.summary(entry['ms'])} ({verdicts})",
        )
    row(
        "CPU seconds, checks on, first byte → last check",
        f"web {cpu['web']:.1f}, worker {cpu['worker']:.1f}, other processes {cpu['other']:.1f} "
        f"({cpu['wall']:.1f} s wall)",
    )
    m = mem_on["worker"]
    row("worker peak RSS with checks (growth over idle)", f"{_mb(m['peak'])} (+{_mb(m['growth'])})")
    print()
    if not stored_ok:
        print("FAILED: with checks on, not every file was stored", file=sys.stderr)
    if ratio < 0.70:
        print("FAILED: checks lowered ingest throughput by more than 30 %", file=sys.stderr)
    return stored_ok and ratio >= 0.70


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Direct-upload ingest benchmark: Fundus Hub end to end vs. the raw floor."
    )
    parser.add_argument("-n", "--count", type=int, default=200, help="files (default 200)")
    parser.add_argument("--batch", type=int, default=20, help="files per request (default 20)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--clients", type=int, default=1, help="concurrent uploading clients (default 1)"
    )
    parser.add_argument("--port", type=int, help="web server port (default: a free one)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds to wait for processing (default 600)"
    )
    parser.add_argument(
        "--on-first",
        action="store_true",
        help="run the server with checks on first (default: off first), to see the order's effect",
    )
    add_argument(parser)
    args = parser.parse_args(argv)
    if args.count < 1 or args.batch < 1 or args.workers < 1 or args.clients < 1:
        parser.error("counts must be positive")
    signal.signal(signal.SIGTERM, _raise_interrupt)

    tmp = Path(tempfile.mkdtemp(prefix="fundushub-bench-"))
    storage = None
    try:
        storage = open_storage(args.storage, tmp / "s3")
        print(f"generating {args.count} JPEGs in {tmp} ...", flush=True)
        t = time.perf_counter()
        (tmp / "images").mkdir()
        samples = make_samples(tmp / "images", args.count)
        sizes = [s.size for s in samples]
        print(
            f"  {time.perf_counter() - t:.1f} s; sizes {min(sizes) / MB:.2f}..{max(sizes) / MB:.2f} MB"
        )

        print("floor: one process, read + MD5 + SHA-256 + store + thumbnail ...", flush=True)
        floor_cpu = CpuMeter(storage.cpu_roles)
        floor_cpu.start()
        floor = measure_floor(samples, tmp / "floor", storage.put)
        floor["cpu"] = floor_cpu.stop()
        print(f"  {floor['seconds']:.2f} s, {args.count / floor['seconds']:.2f} files/s")

        order = (True, False) if args.on_first else (False, True)
        runs = {checks: ingest(args, tmp, samples, storage, checks) for checks in order}
        ok = report(args, samples, floor, *runs[False])
        if not ok:
            print("FAILED: not every file was stored with its thumbnail", file=sys.stderr)
        ok = report_checks(samples, runs[False], runs[True]) and ok
        return 0 if ok else 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        # A second Ctrl+C (uv forwards the terminal's to us too) must not cut the cleanup short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if storage is not None:
            storage.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
