"""The field's published client, unchanged, against a live server of ours.

fundus-camera-watchdog 0.3.0 speaks the older protocol (camera SQLite database, session_id);
1.0.0 the newer one (eye from the file name, DICOMs, no query parameter). Both need Python >= 3.12;
each is installed from PyPI into its own virtual environment with uv.
"""

import glob
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from fundushub.camera.models import CameraFile, CameraSession
from fundushub.store.models import Image
from tests.camera.conftest import DICOM_HEAD, HTML_REPORT
from tests.conftest import fundus_jpeg, run_worker

SUBJECT = "105-10-0989-3"


def python_312() -> str | None:
    uv = shutil.which("uv")
    if uv:
        found = subprocess.run(
            [uv, "python", "find", "--no-python-downloads", ">=3.12"],
            capture_output=True,
            text=True,
        )
        if found.returncode == 0 and found.stdout.strip():
            return found.stdout.strip()
    for candidate in sorted(
        glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[2-9]*/bin/python"))
    ):
        return candidate
    return shutil.which("python3.12") or shutil.which("python3.13")


@pytest.fixture(scope="module")
def install_client(tmp_path_factory):
    python = python_312()
    if python is None:
        pytest.skip("the published clients need Python >= 3.12, and none is installed here")
    uv = shutil.which("uv") or pytest.fail("uv is needed to install the published clients")

    def install(version: str) -> Path:
        venv = tmp_path_factory.mktemp(f"client-{version}")
        subprocess.run([uv, "venv", "-q", "-p", python, str(venv)], check=True)
        bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
        subprocess.run(
            [
                uv,
                "pip",
                "install",
                "-q",
                "-p",
                str(bin_dir / "python"),
                f"fundus-camera-watchdog=={version}",
            ],
            check=True,
        )
        return bin_dir / "fundus-camera-watchdog"

    return install


# 1.0.0's single-instance lock is a bind to this port with SO_REUSEADDR off. Any socket holding it
# as its local port, even a test's closed connection in TIME_WAIT (up to 60 s), makes it exit at once.
LOCK_PORT = 51742


def wait_for_lock_port(deadline: float) -> None:
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
            try:
                s.bind(("127.0.0.1", LOCK_PORT))
                return
            except OSError:
                time.sleep(0.5)


def run_until_archived(command: list[str], watch_dir: Path, timeout: float = 90) -> str:
    """Run the client until the subject folder has moved to processed/, then stop it (Ctrl+C)."""
    deadline = time.monotonic() + timeout
    while True:  # again if a connection took the lock port between the check and the start
        wait_for_lock_port(deadline)
        output = _run_once(command, watch_dir, deadline)
        if "Another instance" not in output or time.monotonic() >= deadline:
            break
    archived = (watch_dir / "processed").exists() and not (watch_dir / SUBJECT).exists()
    assert archived, f"the client did not archive the examination; it said:\n{output}"
    return output


def _run_once(command: list[str], watch_dir: Path, deadline: float) -> str:
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            processed = watch_dir / "processed"
            if processed.exists() and any(p.name.startswith(SUBJECT) for p in processed.iterdir()):
                break
            time.sleep(0.3)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            output = proc.communicate(timeout=15)[0]
        except subprocess.TimeoutExpired:
            proc.kill()
            output = proc.communicate()[0]
    return output


def eyes_on_server() -> dict[str, str]:
    run_worker()  # camera images join the image store in the background
    session = CameraSession.objects.get(subject__subject_identifier=SUBJECT)
    images = {}
    for record in CameraFile.objects.filter(session=session, file_type__in=["left", "right"]):
        image = Image.objects.get(pk=record.image_id)
        images[record.original_filename] = image.area.code
        assert image.subject_identifier == SUBJECT and image.source == "camera"
    return images


@pytest.mark.django_db(transaction=True)
def test_the_older_published_client_archives_a_complete_examination(
    install_client, live_server, cam, tmp_path
):
    client = install_client("0.3.0")
    watch = tmp_path / "RetCamOutput"
    folder = watch / SUBJECT
    folder.mkdir(parents=True)
    left, right, report = "a1b2c3d4.jpg", "e5f6a7b8.jpg", "c9d0e1f2.html"
    (folder / left).write_bytes(fundus_jpeg(31))
    (folder / right).write_bytes(fundus_jpeg(32))
    (folder / report).write_bytes(HTML_REPORT)
    db = tmp_path / "camera.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE patients (subject_identifier, initials, sex, age)")
        conn.execute("CREATE TABLE images (subject_identifier, filename, eye)")
        conn.execute("INSERT INTO patients VALUES (?, 'JD', 'M', 54)", (SUBJECT,))
        conn.executemany(
            "INSERT INTO images VALUES (?, ?, ?)", [(SUBJECT, left, "OS"), (SUBJECT, right, "OD")]
        )
    config = tmp_path / "camera_config.json"
    config.write_text(
        json.dumps(
            {
                "watch_dir": str(watch),
                "db_path": str(db),
                "api_url": live_server.url,
                "token": cam.token,
                "device_id": "RET-CAM-001",
                "site_id": "40",
            }
        )
    )
    run_until_archived([str(client), "--config", str(config)], watch)
    assert eyes_on_server() == {left: "left", right: "right"}
    session = CameraSession.objects.get()
    assert sorted(session.files.values_list("file_type", flat=True)) == ["left", "report", "right"]
    assert session.sent["site_id"] == "40"


@pytest.mark.django_db(transaction=True)
def test_the_newer_published_client_archives_a_complete_examination(
    install_client, live_server, cam, tmp_path
):
    client = install_client("1.0.0")
    watch = tmp_path / "RetCamOutput"
    folder = watch / SUBJECT
    folder.mkdir(parents=True)
    (folder / "1a2b_OS.dcm").write_bytes(DICOM_HEAD + b"pixels-left")
    (folder / "3c4d_OD.dcm").write_bytes(DICOM_HEAD + b"pixels-right")
    (folder / "5e6f_OS.jpg").write_bytes(fundus_jpeg(41))
    (folder / "7a8b_OD.jpg").write_bytes(fundus_jpeg(42))
    (folder / "9c0d.html").write_bytes(HTML_REPORT)
    command = [
        str(client),
        "--watch-dir", str(watch),
        "--api-url", live_server.url,
        "--token", cam.token,
        "--device-id", "RET-CAM-001",
        "--include-jpgs",
    ]  # fmt: skip
    run_until_archived(command, watch)
    assert eyes_on_server() == {"5e6f_OS.jpg": "left", "7a8b_OD.jpg": "right"}
    types = sorted(CameraSession.objects.get().files.values_list("file_type", flat=True))
    assert types == ["left", "left_dicom", "report", "right", "right_dicom"]
