"""End-to-end world: our server (`python -m fundushub serve`) and a task worker as child processes
sharing this test's database and files, our watchdog as a child process, and the camera
simulator writing examinations into a watch folder with its SQLite database.

Every child process runs in its own process group and is killed (with its group) at the end of
the test whatever happened, so a failing test never leaves a server, worker or watchdog behind.
"""

import hashlib
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fundus_watchdog.simulate import Camera, subject_identifiers
from fundushub.camera.completeness import session_completeness
from fundushub.camera.models import CameraFile, CameraSession, Subject
from fundushub.store.models import Image
from tests.camera.conftest import issue_token, years_ago
from tests.conftest import subprocess_env

LEFT = {"L", "LE", "OS", "LEFT"}
RIGHT = {"R", "RE", "OD", "RIGHT"}
ARCHIVE_NAME = r"{subject}_\d{{8}}_\d{{6}}(_\d+)?"
# Small timings: nothing here waits the real 5 s stability window, 60 s sweep or 5 s retry delay.
FAST_FLAGS = [
    "--stable-seconds", "0.3",
    "--sweep-interval", "1",
    "--retry-delay", "0.2",
    "--max-retry-delay", "1",
    "--failure-backoff-max", "2",
    "--request-timeout", "20",
    "--checks-wait", "5",
]  # fmt: skip

_children: list[subprocess.Popen] = []

if os.name != "posix":  # process groups, SIGKILL and /proc: the end-to-end runs are POSIX-only
    collect_ignore_glob = ["test_*.py"]


def spawn(args: list[str], env: dict, log_path: Path) -> subprocess.Popen:
    """Start a child process in its own process group, output appended to log_path."""
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    _children.append(proc)
    return proc


def kill(proc: subprocess.Popen, sig=signal.SIGKILL, wait_first: float = 0) -> None:
    """Signal the process's whole group (it is the group leader), then reap it."""
    time.sleep(wait_first)
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def stop(proc: subprocess.Popen, timeout: float = 15) -> int:
    """Ask politely (SIGTERM: our commands treat it as Ctrl+C), kill if it does not listen."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill(proc)
    return proc.returncode


def _direct_children() -> set[int]:
    """Our own child processes, from /proc where there is one (else only those we spawned)."""
    me, found = os.getpid(), set()
    for entry in Path("/proc").glob("[0-9]*/stat") if Path("/proc").is_dir() else []:
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[1]) == me:
            found.add(int(entry.parent.name))
    return found


@pytest.fixture(autouse=True)
def no_leftover_processes():
    """Kill whatever child process a test leaves running (server, worker, watchdog, client)."""
    before = _direct_children()
    yield
    while _children:
        kill(_children.pop())
    for pid in _direct_children() - before:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


class ServerProcess:
    """`python -m fundushub serve` on a fixed free port; can be stopped and started again."""

    def __init__(self, media_root: Path, log_path: Path, mode: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = subprocess_env(media_root) | {"FUNDUSHUB_CAMERA_API_MODE": mode}
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> "ServerProcess":
        args = [sys.executable, "-m", "fundushub", "serve", "--port", str(self.port)]
        self.proc = spawn(args, self.env, self.log_path)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited at start-up:\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"the server did not listen:\n{self.log()}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def fundushub_server(db, isolated_storage, tmp_path):
    """Factory: a live server process of ours on this test's database (stopped at teardown,
    before the database is flushed). `fundushub_server(start=False)` gives a server that is
    down until `.start()`."""
    servers = []

    def make(mode: str = "session", start: bool = True) -> ServerProcess:
        server = ServerProcess(isolated_storage, tmp_path / f"server-{len(servers)}.log", mode)
        servers.append(server)
        return server.start() if start else server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def task_worker(db, isolated_storage, tmp_path):
    """A worker process, so camera images join the image store as they would in production."""
    proc = spawn(
        [sys.executable, "-m", "fundushub", "worker"],
        subprocess_env(isolated_storage),
        tmp_path / "worker.log",
    )
    yield proc
    stop(proc)


@pytest.fixture
def clinic(world):
    """The test world plus camera devices at St Lucia (Retina) with their tokens."""
    world.tokens = {
        "RET-CAM-001": issue_token("RET-CAM-001", world.retina, "--camera", str(world.topcon.pk)),
        "RET-CAM-002": issue_token(
            "RET-CAM-002", world.retina, "--camera", str(world.canon.pk), "--report-type", "per_eye"
        ),
    }
    return world


class SimulatedCamera:
    """The simulator writing into a watch folder, with subjects registered on the server first
    (with the very demographics the simulator then writes into its camera database)."""

    def __init__(self, watch_dir: Path, hospital, *, seed: int, report_type: str, **camera_kw):
        self.watch_dir = watch_dir
        self.hospital = hospital
        self.report_type = report_type
        self.rng = random.Random(seed)
        options = {"chunk_size": 4096, "chunk_delay": 0.005, "image_size": (320, 240)}
        self.camera = Camera(watch_dir, seed=seed, **(options | camera_kw))
        self.exams = []

    @property
    def db_path(self) -> Path:
        return self.camera.db_path

    def subjects(self, count: int, prefix: str) -> list[str]:
        return subject_identifiers(count, self.rng, prefix)

    def register(self, subject: str) -> dict:
        demographics = {
            "initials": "".join(self.rng.choice("ABCDEFGHJKLMNPRSTW") for _ in range(2)),
            "sex": self.rng.choice("MF"),
            "age": self.rng.randint(25, 85),
        }
        Subject.objects.create(
            subject_identifier=subject,
            initials=demographics["initials"],
            sex=demographics["sex"],
            date_of_birth=years_ago(demographics["age"]),
            site=self.hospital,
        )
        return demographics

    def examination(self, subject: str, demographics: dict | None = None):
        exam = self.camera.examination(subject, self.report_type, demographics=demographics)
        self.exams.append(exam)
        return exam

    def register_and_write(self, subjects: list[str]) -> list:
        return [self.examination(s, self.register(s)) for s in subjects]


def watchdog_command(
    camera: SimulatedCamera, url: str, token: str, device_id: str, *extra, command: str = ""
) -> list[str]:
    """`python -m fundus_watchdog [command]` with this camera's folders and fast timings."""
    return [
        sys.executable, "-m", "fundus_watchdog",
        *([command] if command else []),
        "--watch-dir", str(camera.watch_dir),
        "--db-path", str(camera.db_path),
        "--api-url", url,
        "--token", token,
        "--device-id", device_id,
        "--report-type", camera.report_type,
        *FAST_FLAGS,
        *extra,
    ]  # fmt: skip


@pytest.fixture
def run_watchdog(tmp_path):
    """Factory: start our watchdog as a child process (`once=True` adds --once)."""
    count = 0

    def start(camera, url, token, device_id, *extra, once=False) -> subprocess.Popen:
        nonlocal count
        count += 1
        command = watchdog_command(camera, url, token, device_id, *extra)
        if once:
            command.append("--once")
        return spawn(command, dict(os.environ), tmp_path / f"watchdog-{count}.out")

    return start


def watchdog_log(camera: SimulatedCamera) -> str:
    path = camera.watch_dir / ".fundus-watchdog" / "watchdog.log"
    return path.read_text(errors="replace") if path.exists() else ""


def archived(watch_dir: Path, where: str = "processed") -> list[Path]:
    folder = watch_dir / where
    return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def camera_eyes(db_path: Path) -> dict[str, str]:
    """File name -> left/right as the camera database says (normalised independently here)."""
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT filename, eye FROM images").fetchall()
    eyes = {}
    for name, raw in rows:
        value = re.sub(r"\s+", "", raw or "").upper()
        eyes[name] = "left" if value in LEFT else "right" if value in RIGHT else None
    return eyes


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def expected_file_type(name: str, eye: str | None, report_type: str) -> str:
    if name.endswith(".html"):
        return "report" if report_type == "combined" else f"{eye}_report"
    return eye


def wait_for_image_store(subjects: list[str], timeout: float = 60) -> None:
    """The worker turns every left/right file into an image; wait until it has."""
    images = CameraFile.objects.filter(
        session__subject__subject_identifier__in=subjects, file_type__in=["left", "right"]
    )
    wait_for(
        lambda: not images.exclude(image_state="stored").exists(),
        timeout,
        "the worker to store every camera image",
        interval=0.2,
    )


def assert_examinations_on_server(camera: SimulatedCamera, exams: list) -> None:
    """Each examination: archived once under processed/<subject>_<timestamp>/, one complete
    session on the server holding exactly the archived files, once each, with the eye the camera
    database gives and the archived bytes' SHA-256; each eye image in the image store with its eye."""
    eyes = camera_eyes(camera.db_path)
    folders = archived(camera.watch_dir)
    subjects = [e.subject_identifier for e in exams]
    wait_for_image_store(subjects)
    for exam in exams:
        subject = exam.subject_identifier
        assert not (camera.watch_dir / exam.folder).exists(), f"{subject} was not archived"
        mine = [f for f in folders if re.fullmatch(ARCHIVE_NAME.format(subject=subject), f.name)]
        assert len(mine) == 1, f"{subject}: archived as {[f.name for f in mine]}"
        local = {p.name: p for p in mine[0].iterdir()}
        assert sorted(local) == sorted(f.name for f in exam.files)

        sessions = CameraSession.objects.filter(subject__subject_identifier=subject)
        assert sessions.count() == 1, f"{subject}: {sessions.count()} sessions"
        session = sessions.get()
        assert session_completeness(session)["complete"], f"{subject}: session incomplete"
        records = list(CameraFile.objects.filter(session__subject__subject_identifier=subject))
        assert sorted(r.original_filename for r in records) == sorted(local), (
            f"{subject}: the server holds {sorted(r.original_filename for r in records)}"
        )
        for record in records:
            name = record.original_filename
            assert eyes[name] or name.endswith(".html"), f"{name}: no eye in the camera DB"
            assert record.file_type == expected_file_type(name, eyes[name], camera.report_type)
            assert record.sha256 == sha256_file(local[name]), f"{subject}/{name}: checksum"
            if record.file_type in ("left", "right"):
                image = Image.objects.select_related("area").get(pk=record.image_id)
                assert image.area.code == eyes[name] == record.file_type
                assert image.subject_identifier == subject
                assert image.source == Image.Source.CAMERA


def assert_server_log_clean(server: ServerProcess) -> None:
    """No 409 (a file sent twice under one name with other bytes) and no 5xx, ever."""
    log = server.log()
    assert "Conflict:" not in log, log
    assert "Internal Server Error" not in log and "Traceback" not in log, log
