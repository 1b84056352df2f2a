"""Camera watchdog benchmark: our watchdog against a live server of ours, beside the published
field client fundus-camera-watchdog 1.0.0, in one run.

1. Latency: a steady camera (the simulator writing one examination every --interval seconds,
   each file in chunks) while our watchdog runs continuously. For every file: the time from its
   last write (its mtime) to the server having it (the CameraFile row's received_at); p50 and
   p95. Target: p50 <= the stability window + 0.5 s, and nothing received before its window.
2. Backlog: N examinations waiting in the watch folder at start-up, drained by ours (`--once`)
   and by the published 1.0.0 client (until every folder is archived), each against a fresh
   server (new data directory) with the same subjects, the same bytes and the same worker.
   1.0.0 reads eyes from file names and sends JPEGs only with --include-jpgs, so its copy of the
   backlog names the pictures <uuid>_OD.jpg / <uuid>_OS.jpg by the camera database's eye.
   Target: ours at least 3x faster.

Every server is `fundushub serve` + `fundushub worker` on a fresh SQLite data directory, set up
with `manage migrate`, `load_reference_data --demo`, `camera_token` and `import_subjects`.

    uv run python bench/watchdog.py                   # N=500, 30 latency examinations
    uv run python bench/watchdog.py --count 50 --latency-count 10    # a quick run
"""

import argparse
import contextlib
import csv
import ctypes
import glob
import os
import random
import re
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

# This file is named watchdog.py: keep its folder off the import path, or it would shadow the
# `watchdog` package (file events) that fundus_watchdog depends on. The simulator is imported
# only after this, inside the functions that use it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

DEVICE = "BENCH-CAM-001"
PUBLISHED = "fundus-camera-watchdog==1.0.0"
# The published client's single-instance lock: a bind to this port, which it cannot take while any
# socket holds it (even a connection of ours in TIME_WAIT whose ephemeral port it happened to be).
PUBLISHED_LOCK_PORT = 51742
LEFT, RIGHT = {"L", "LE", "OS", "LEFT"}, {"R", "RE", "OD", "RIGHT"}


# ---------------------------------------------------------------------------------------------
# Processes


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if the benchmark itself is killed outright."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def spawn(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(
            command,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
        )


def stop(proc: subprocess.Popen, sig=signal.SIGINT, timeout: float = 30) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (all its threads), from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError):
        return 0.0


def tree_cpu_seconds(pid: int) -> float:
    """A live process's CPU time plus its live children's (gunicorn serves from child processes)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = [int(c) for c in f.read().split()]
    except OSError:
        children = []
    return cpu_seconds(pid) + sum(tree_cpu_seconds(c) for c in children)


def children_cpu_seconds() -> float:
    """CPU time of the child processes reaped so far (a finished client's, once waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A fresh fundushub web server and worker on their own data directory (SQLite)."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        data_dir.mkdir(parents=True)
        self.env = dict(os.environ)
        for name in ("DATABASE_URL", "FUNDUSHUB_S3_BUCKET", "FUNDUSHUB_CAMERA_API_MODE"):
            self.env.pop(name, None)
        self.env |= {"FUNDUSHUB_DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING"}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.procs: list[subprocess.Popen] = []

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "fundushub", "manage", *args],
            env=self.env,
            capture_output=True,
            text=True,
        )
        if result.returncode:
            raise SystemExit(f"manage {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def setup(self, subjects: dict[str, dict]) -> str:
        """Migrate, reference data, the subjects; returns the camera device's token."""
        self.manage("migrate", "--verbosity", "0")
        self.manage("load_reference_data", "--demo")
        with self.db() as conn:
            unit, hospital = conn.execute(
                "SELECT id, hospital_id FROM catalog_labunit ORDER BY id LIMIT 1"
            ).fetchone()
        token = self.manage("camera_token", DEVICE, "--lab-unit", str(unit)).split()[-1]
        subjects_csv = self.data_dir / "subjects.csv"
        with open(subjects_csv, "w", newline="") as f:
            out = csv.writer(f)
            out.writerow(["subject_identifier", "initials", "sex", "date_of_birth", "site"])
            for subject, d in subjects.items():
                out.writerow([subject, d["initials"], d["sex"], born(d["age"]), hospital])
        self.manage("import_subjects", str(subjects_csv))
        return token

    def start(self) -> "Server":
        web = [sys.executable, "-m", "fundushub", "serve", "--port", str(self.port)]
        self.procs.append(spawn(web, self.env, self.data_dir / "web.log"))
        worker = [sys.executable, "-m", "fundushub", "worker"]
        self.procs.append(spawn(worker, self.env, self.data_dir / "worker.log"))
        deadline = time.monotonic() + 60
        while True:
            if any(p.poll() is not None for p in self.procs):
                raise SystemExit(f"the server did not start; see the logs in {self.data_dir}")
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            if time.monotonic() > deadline:
                raise SystemExit(f"the server did not listen; see {self.data_dir / 'web.log'}")
            time.sleep(0.1)

    def stop(self) -> None:
        for proc in self.procs:
            stop(proc)

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.data_dir / "fundushub.sqlite3", timeout=30)

    def received(self) -> dict[str, float]:
        """original_filename -> when the server stored it (epoch seconds)."""
        with self.db() as conn:
            rows = conn.execute("SELECT original_filename, received_at FROM camera_camerafile")
            return {name: utc_epoch(at) for name, at in rows}

    def file_count(self) -> int:
        with self.db() as conn:
            return conn.execute("SELECT COUNT(*) FROM camera_camerafile").fetchone()[0]

    def complete_sessions(self) -> int:
        """Sessions holding a left and a right image and a report (the combined groups)."""
        with self.db() as conn:
            return conn.execute(
                "SELECT COUNT(*) FROM (SELECT session_id FROM camera_camerafile"
                " GROUP BY session_id HAVING SUM(file_type IN ('left', 'left_dicom')) > 0"
                " AND SUM(file_type IN ('right', 'right_dicom')) > 0"
                " AND SUM(file_type = 'report') > 0)"
            ).fetchone()[0]

    def log_says(self, text: str) -> int:
        return (self.data_dir / "web.log").read_text(errors="replace").count(text)


def utc_epoch(value) -> float:
    at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def born(age: int) -> str:
    today = date.today()
    try:
        return today.replace(year=today.year - age).isoformat()
    except ValueError:  # 29 February
        return today.replace(year=today.year - age, day=28).isoformat()


# ---------------------------------------------------------------------------------------------
# Cameras and watchdogs


def demographics_for(subjects: list[str], rng: random.Random) -> dict[str, dict]:
    return {
        s: {
            "initials": "".join(rng.choice("ABCDEFGHJKLMNPRSTW") for _ in range(2)),
            "sex": rng.choice("MF"),
            "age": rng.randint(25, 85),
        }
        for s in subjects
    }


def warm_pictures(size: tuple[int, int]) -> None:
    """The simulator draws each of its six pictures once, then reuses them; do it first."""
    from fundus_watchdog.fundus_image import fundus_picture

    for eye in ("left", "right"):
        for variant in range(3):
            fundus_picture(eye, variant, *size)


def ours(watch: Path, server: Server, token: str, args, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "fundus_watchdog",
        "--watch-dir", str(watch),
        "--db-path", str(watch / "camera.db"),
        "--api-url", server.url,
        "--token", token,
        "--device-id", DEVICE,
        "--stable-seconds", str(args.stable_seconds),
        "--workers", str(args.workers),
        *extra,
    ]  # fmt: skip


def archived(watch: Path) -> int:
    processed = watch / "processed"
    return sum(1 for p in processed.iterdir() if p.is_dir()) if processed.is_dir() else 0


def wait_archived(watch: Path, count: int, timeout: float, proc=None) -> bool:
    deadline = time.monotonic() + timeout
    while archived(watch) < count:
        if time.monotonic() > deadline or (proc is not None and proc.poll() is not None):
            return False
        time.sleep(0.05)
    return True


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# ---------------------------------------------------------------------------------------------
# 1. Latency


def measure_latency(root: Path, args) -> dict:
    from fundus_watchdog.simulate import Camera, subject_identifiers

    rng = random.Random(args.seed)
    subjects = demographics_for(subject_identifiers(args.latency_count, rng, "105-70"), rng)
    server = Server(root / "server-latency")
    token = server.setup(subjects)
    server.start()
    watch = root / "latency-watch"
    camera = Camera(watch, image_size=args.image_size, seed=args.seed)  # default chunked writes
    log = watch / ".fundus-watchdog" / "watchdog.log"
    proc = spawn(ours(watch, server, token, args), dict(os.environ), root / "latency-watchdog.out")
    try:
        deadline = time.monotonic() + 30
        while not (log.exists() and "is reachable" in log.read_text(errors="replace")):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"our watchdog did not start; see {root}")
            time.sleep(0.05)
        time.sleep(0.5)  # its file observer starts just after that line
        written: dict[str, tuple[str, float]] = {}  # file -> (subject, last write)
        start = time.monotonic()
        for i, (subject, demo) in enumerate(subjects.items()):
            time.sleep(max(0.0, start + i * args.interval - time.monotonic()))
            exam = camera.examination(subject, "combined", demographics=demo)
            for f in exam.files:
                written[f.name] = (subject, (watch / exam.folder / f.name).stat().st_mtime)
        if not wait_archived(watch, len(subjects), 120, proc):
            raise SystemExit(f"our watchdog did not archive every examination; see {root}")
    finally:
        code = stop(proc)
        server.stop()
    received = server.received()
    per_file = [received[name] - at for name, (_, at) in written.items() if name in received]
    per_exam = []
    for subject in subjects:
        files = [n for n, (s, _) in written.items() if s == subject]
        per_exam.append(max(received[n] for n in files) - max(written[n][1] for n in files))
    return {
        "exams": len(subjects),
        "files": len(written),
        "missing": len(written) - len(per_file),
        "p50": percentile(per_file, 50),
        "p95": percentile(per_file, 95),
        "min": min(per_file),
        "max": max(per_file),
        "exam_p50": percentile(per_exam, 50),
        "exam_p95": percentile(per_exam, 95),
        "exit": code,
        "conflicts": server.log_says("Conflict:"),
    }


# ---------------------------------------------------------------------------------------------
# 2. Backlog


def write_backlog(folder: Path, subjects: dict[str, dict], args) -> None:
    from fundus_watchdog.simulate import Camera

    camera = Camera(folder, chunk_delay=0, image_size=args.image_size, seed=args.seed)
    for subject, demo in subjects.items():
        camera.examination(subject, "combined", demographics=demo)


def published_copy(backlog: Path, target: Path) -> None:
    """The same examinations as 1.0.0 wants them: the eye in the picture's file name."""
    with sqlite3.connect(backlog / "camera.db") as conn:
        eyes = dict(conn.execute("SELECT filename, eye FROM images"))
    target.mkdir()
    for folder in (p for p in backlog.iterdir() if p.is_dir()):
        (target / folder.name).mkdir()
        for f in folder.iterdir():
            name = f.name
            if f.suffix == ".jpg":
                eye = re.sub(r"\s+", "", eyes[f.name]).upper()
                name = f"{f.stem}_{'OS' if eye in LEFT else 'OD' if eye in RIGHT else '??'}.jpg"
            shutil.copy2(f, target / folder.name / name)


def python_312() -> str | None:
    found = subprocess.run(
        ["uv", "python", "find", "--no-python-downloads", ">=3.12"], capture_output=True, text=True
    )
    if found.returncode == 0 and found.stdout.strip():
        return found.stdout.strip()
    candidates = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[2-9]*/bin/python")))
    return candidates[0] if candidates else shutil.which("python3.12")


def install_published(root: Path) -> Path:
    python = python_312()
    if python is None:
        raise SystemExit("the published client needs Python >= 3.12 and none was found")
    venv = root / "published-venv"
    subprocess.run(["uv", "venv", "-q", "-p", python, str(venv)], check=True)
    subprocess.run(
        ["uv", "pip", "install", "-q", "-p", str(venv / "bin" / "python"), PUBLISHED], check=True
    )
    return venv / "bin" / "fundus-camera-watchdog"


def lock_port_free(deadline: float) -> None:
    """Wait until the published client could take its lock port (it exits if it cannot)."""
    while time.monotonic() < deadline:
        probe = socket.socket()
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
        try:
            probe.bind(("127.0.0.1", PUBLISHED_LOCK_PORT))
            return
        except OSError:
            time.sleep(0.5)
        finally:
            probe.close()


def drain(name: str, run: int, root: Path, backlog: Path, subjects: dict, args, command) -> dict:
    """A fresh server with the subjects, the backlog copied in, the client timed until all is
    archived (ours: --once exits; the published client: until processed/ holds every folder)."""
    server = Server(root / f"server-{name}-{run}")
    token = server.setup(subjects)
    server.start()
    watch = root / f"{name}-{run}-watch"
    if name == "ours":
        shutil.copytree(backlog, watch)
    else:
        published_copy(backlog, watch)
    count = len(subjects)
    if name != "ours":
        lock_port_free(time.monotonic() + 120)  # before the clock starts
    web, worker = server.procs
    cpu_before = tree_cpu_seconds(web.pid), cpu_seconds(worker.pid), children_cpu_seconds()
    started = time.monotonic()
    proc = spawn(command(watch, server, token), dict(os.environ), root / f"{name}-{run}.out")
    try:
        if name == "ours":
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=args.timeout)
            done = archived(watch) == count and proc.returncode == 0
        else:
            done = wait_archived(watch, count, args.timeout, proc)
        seconds = time.monotonic() - started
    finally:
        code = stop(proc)
        cpu = {
            "web": tree_cpu_seconds(web.pid) - cpu_before[0],
            "worker": cpu_seconds(worker.pid) - cpu_before[1],
            "client": children_cpu_seconds() - cpu_before[2],  # only the client was reaped
        }
        time.sleep(0.5)  # let the worker take the last images before it stops
        server.stop()
    return {
        "seconds": seconds,
        "done": done,
        "archived": archived(watch),
        "files": server.file_count(),
        "complete": server.complete_sessions(),
        "exit": code,
        "conflicts": server.log_says("Conflict:"),
        "errors": server.log_says("Internal Server Error"),
        "cpu": cpu,
    }


def measure_backlog(root: Path, args) -> dict:
    from fundus_watchdog.simulate import subject_identifiers

    rng = random.Random(args.seed + 1)
    subjects = demographics_for(subject_identifiers(args.count, rng, "105-80"), rng)
    backlog = root / "backlog"
    t0 = time.monotonic()
    write_backlog(backlog, subjects, args)
    print(f"  wrote a backlog of {len(subjects)} examinations in {time.monotonic() - t0:.1f} s")
    commands = {"ours": lambda watch, server, token: ours(watch, server, token, args, "--once")}
    if not args.skip_published:
        client = install_published(root)
        commands["published"] = lambda watch, server, token: [
            str(client),
            "--watch-dir", str(watch),
            "--api-url", server.url,
            "--token", token,
            "--device-id", DEVICE,
            "--include-jpgs",
        ]  # fmt: skip
    # Alternate the order from round to round, so neither client always runs on a warmer machine.
    results = {name: [] for name in commands}
    for run in range(args.repeat):
        for name in commands if run % 2 == 0 else reversed(commands):
            result = drain(name, run, root, backlog, subjects, args, commands[name])
            results[name].append(result)
            print(f"  round {run + 1}: {name}: {result['seconds']:.1f} s", flush=True)
    return results


# ---------------------------------------------------------------------------------------------


def report(args, latency: dict | None, backlog: dict | None) -> None:
    s = args.stable_seconds
    print()
    print(f"Camera watchdog benchmark ({os.cpu_count()} CPUs; pictures {args.image_size[0]}x"
          f"{args.image_size[1]}; ours: stability window {s:g} s, {args.workers} workers)")  # fmt: skip
    if latency:
        lat = latency
        print(f"\n(a) last write -> on the server, {lat['exams']} examinations written every "
              f"{args.interval:g} s ({lat['files']} files), our watchdog running continuously:")  # fmt: skip
        print(f"    per file:        p50 {lat['p50']:.2f} s   p95 {lat['p95']:.2f} s   "
              f"min {lat['min']:.2f} s   max {lat['max']:.2f} s")  # fmt: skip
        print(f"    per examination: p50 {lat['exam_p50']:.2f} s   p95 {lat['exam_p95']:.2f} s"
              "   (from its last file's last write to the server having all of it)")  # fmt: skip
        target = s + 0.5
        print(f"    target p50 <= {target:g} s: {'met' if lat['p50'] <= target else 'MISSED'}; "
              f"nothing received before its stability window: "
              f"{'yes' if lat['min'] >= s else 'NO'} (min {lat['min']:.2f} s >= {s:g} s)")  # fmt: skip
        if lat["missing"] or lat["exit"] != 0 or lat["conflicts"]:
            print(f"    PROBLEMS: {lat['missing']} files missing, exit {lat['exit']}, "
                  f"{lat['conflicts']} conflicts")  # fmt: skip
    if backlog:
        print(f"\n(b) backlog of {args.count} examinations (3 files each) present at start-up, "
              "each client against a fresh server:")  # fmt: skip
        medians = {}
        for name, label in (("ours", "ours (--once)"), ("published", PUBLISHED)):
            for r in backlog.get(name, []):
                rate = r["archived"] / r["seconds"] if r["seconds"] else 0
                state = "all archived" if r["done"] else f"NOT DONE: {r['archived']} archived"
                cpu = r["cpu"]
                print(f"    {label:32s} {r['seconds']:7.1f} s  {rate:6.1f} exams/s  {state}; "
                      f"server: {r['files']} files, {r['complete']} complete sessions, "
                      f"{r['conflicts']} 409s, {r['errors']} 500s; exit {r['exit']}; CPU s: "
                      f"web {cpu['web']:.1f}, worker {cpu['worker']:.1f}, client {cpu['client']:.1f}")  # fmt: skip
            if backlog.get(name):
                medians[name] = statistics.median(r["seconds"] for r in backlog[name])
        if len(medians) == 2:
            ratio = medians["published"] / medians["ours"]
            bound = "" if all(r["done"] for r in backlog["published"]) else ">= "
            print(f"    median of {args.repeat}: ours {medians['ours']:.1f} s, published "
                  f"{medians['published']:.1f} s; ours is {bound}{ratio:.2f}x faster "
                  f"(target >= 3x: {'met' if ratio >= 3 else 'MISSED'})")  # fmt: skip


def parse_size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    return int(width), int(height)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--count", type=int, default=500, help="backlog examinations (default 500)")
    p.add_argument(
        "--latency-count", type=int, default=30, help="examinations in the latency run (30)"
    )
    p.add_argument("--interval", type=float, default=1.0, help="seconds between examinations (1.0)")
    p.add_argument(
        "--stable-seconds",
        type=float,
        default=5.0,
        help="our stability window (default 5, the watchdog's own default)",
    )
    p.add_argument("--workers", type=int, default=4, help="our upload workers (default 4)")
    p.add_argument("--image-size", type=parse_size, default=(640, 480), help="WxH (640x480)")
    p.add_argument(
        "--timeout", type=float, default=900, help="give up on a backlog drain after this (s)"
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=2,
        help="backlog rounds per client, alternating which goes first; medians compared (2)",
    )
    p.add_argument("--seed", type=int, default=20261121)
    p.add_argument("--skip-latency", action="store_true")
    p.add_argument("--skip-backlog", action="store_true")
    p.add_argument("--skip-published", action="store_true", help="only our watchdog's backlog")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    args = p.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="fundus-watchdog-bench-"))
    print(f"working in {root}", flush=True)
    try:
        warm_pictures(args.image_size)
        latency = None if args.skip_latency else measure_latency(root, args)
        backlog = None if args.skip_backlog else measure_backlog(root, args)
        report(args, latency, backlog)
    finally:
        if args.keep:
            print(f"\nkept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
