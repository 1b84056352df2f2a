"""The `fundushub` command, run as users run it: in its own process."""

import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from tests.conftest import fundus_jpeg

FUNDUSHUB = [sys.executable, "-m", "fundushub"]


def clean_env(data_dir) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["FUNDUSHUB_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"exited early: {proc.stdout.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("server did not start")


@pytest.mark.parametrize("command", [[], ["demo"], ["serve"], ["worker"], ["manage"]])
def test_every_command_has_help(command, tmp_path):
    result = subprocess.run(
        [*FUNDUSHUB, *command, "--help"], env=clean_env(tmp_path), capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "usage: fundushub" in result.stdout
    if command in (["demo"], ["serve"], ["worker"]):
        assert "--data-dir" in result.stdout


def test_manage_runs_django_commands_in_the_data_dir(tmp_path):
    result = subprocess.run(
        [*FUNDUSHUB, "manage", "check"], env=clean_env(tmp_path), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
    assert (tmp_path / "secret_key").exists()


def test_the_secret_key_is_kept_across_runs(tmp_path):
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    keys = [
        subprocess.run(
            [*FUNDUSHUB, "manage", "shell", "-c", code],
            env=clean_env(tmp_path),
            capture_output=True,
            text=True,
        ).stdout.splitlines()[-1]
        for _ in range(2)
    ]
    assert len(keys[0]) >= 50 and keys[0] == keys[1]
    assert (tmp_path / "secret_key").read_text().strip() == keys[0]


def test_the_demo_serves_the_site_processes_an_upload_and_stops_cleanly_on_ctrl_c(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [*FUNDUSHUB, "demo", "--port", str(port), "--demo-password", "pw-123", "--no-camera"],
        env=clean_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_port(port, proc)
        base = f"http://127.0.0.1:{port}"
        s = requests.Session()
        s.get(f"{base}/accounts/login/")
        r = s.post(
            f"{base}/accounts/login/",
            data={
                "username": "uploader",
                "password": "pw-123",
                "csrfmiddlewaretoken": s.cookies["csrftoken"],
            },
            headers={"Referer": f"{base}/accounts/login/"},
        )
        assert r.url.endswith("/direct/upload"), "demo uploader could not sign in"
        options = s.get(f"{base}/api/direct-upload/options").json()
        hospital = options["hospitals"][0]
        fields = {
            "hospital": hospital["id"],
            "lab_unit": hospital["lab_units"][0]["id"],
            "camera": options["cameras"][0]["id"],
            "disease": options["diseases"][0]["id"],
            "area": options["areas"][0]["id"],
        }
        r = s.post(
            f"{base}/direct/upload",
            data=fields,
            files=[("files", ("eye.jpg", fundus_jpeg(1), "image/jpeg"))],
            headers={"X-CSRFToken": s.cookies["csrftoken"], "Referer": f"{base}/direct/upload"},
            allow_redirects=False,
        )
        assert r.status_code == 303
        job_id = r.headers["Location"].rsplit("/", 1)[1]
        status = {}
        for _ in range(150):
            status = s.get(f"{base}/api/upload-jobs/{job_id}/status").json()
            if status["finished"]:
                break
            time.sleep(0.2)
        assert status["status"] == "done", status
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    assert re.search(r"uploader\s+pw-123", output)
    assert re.search(r"grader\s+pw-123", output)
    assert re.search(r"senior\s+pw-123", output)
    assert "Adding 150 synthetic fundus images" in output
    assert re.search(r"Filed them into \d+ examinations and graded some: \d+ awaiting", output)
    assert "Stopped." in output
    assert "Traceback" not in output
    assert not (tmp_path / "camera-demo").exists()


def worker_pids(data_dir) -> set[int]:
    """Pids of workers that beat in the last 30 s (the heartbeat rows the worker writes)."""
    import sqlite3

    try:
        with sqlite3.connect(data_dir / "fundushub.sqlite3", timeout=5) as db:
            rows = db.execute(
                "SELECT pid FROM uploads_workerheartbeat WHERE seen_at > datetime('now', '-30 seconds')"
            ).fetchall()
    except sqlite3.OperationalError:  # not migrated yet
        return set()
    return {pid for (pid,) in rows}


def test_the_demo_starts_its_worker_again_when_it_is_killed(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [*FUNDUSHUB, "demo", "--port", str(port), "--no-camera", "--seed-images", "0"],
        env=clean_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_port(port, proc)
        for _ in range(150):
            if first := worker_pids(tmp_path):
                break
            time.sleep(0.2)
        assert len(first) == 1, "the demo's worker never beat"
        os.kill(next(iter(first)), signal.SIGKILL)
        restarted = set()
        for _ in range(150):
            if restarted := worker_pids(tmp_path) - first:
                break
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    assert restarted, f"no new worker after the first was killed:\n{output}"
    assert "The worker stopped (exit code -9)" in output
    assert proc.returncode == 0 and "Traceback" not in output


def signed_in(base: str, username: str, password: str) -> requests.Session:
    s = requests.Session()
    s.get(f"{base}/accounts/login/")
    s.post(
        f"{base}/accounts/login/",
        data={
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": s.cookies["csrftoken"],
        },
        headers={"Referer": f"{base}/accounts/login/"},
    )
    return s


def test_the_demo_camera_examinations_arrive_complete_through_the_watchdog(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [
            *FUNDUSHUB,
            "demo",
            "--port",
            str(port),
            "--demo-password",
            "pw",
            "--camera-interval",
            "1",
        ],
        env=clean_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_port(port, proc)
        manager = signed_in(f"http://127.0.0.1:{port}", "manager", "pw")
        processed = tmp_path / "camera-demo" / "RetCamOutput" / "processed"
        for _ in range(300):
            if processed.exists() and len(list(processed.iterdir())) >= 2:
                break
            time.sleep(0.2)
        page = manager.get(f"http://127.0.0.1:{port}/camera/sessions").text
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    assert len(list(processed.iterdir())) >= 2, output
    assert page.count("badge-completed") >= 2
    assert proc.returncode == 0 and "Traceback" not in output


def start_serve(tmp_path, processes: str) -> tuple[int, subprocess.Popen]:
    """`fundushub serve` on a migrated data dir and a free port; output captured as text."""
    port = free_port()
    env = clean_env(tmp_path)
    subprocess.run([*FUNDUSHUB, "manage", "migrate", "-v0"], env=env, check=True)
    proc = subprocess.Popen(
        [*FUNDUSHUB, "serve", "--port", str(port), "--processes", processes],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return port, proc


def test_serve_answers_only_to_the_names_it_was_started_for(tmp_path):
    port, proc = start_serve(tmp_path, "0")
    try:
        wait_for_port(port, proc)
        login = f"http://127.0.0.1:{port}/accounts/login/"
        assert requests.get(login).status_code == 200
        assert requests.get(login, headers={"Host": f"localhost:{port}"}).status_code == 200
        assert requests.get(login, headers={"Host": "attacker.example"}).status_code == 400
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    assert "Answering to host names: localhost, 127.0.0.1, [::1]" in output


@pytest.mark.parametrize(
    "processes, server",
    [
        pytest.param("2", "gunicorn", marks=pytest.mark.skipif(os.name != "posix", reason="POSIX")),
        ("0", "waitress"),
    ],
)
def test_serve_alone_serves_pages_and_stops_on_sigterm(tmp_path, processes, server):
    port, proc = start_serve(tmp_path, processes)
    try:
        wait_for_port(port, proc)
        r = requests.get(f"http://127.0.0.1:{port}/accounts/login/")
        assert r.status_code == 200 and "Sign in" in r.text
        assert requests.get(f"http://127.0.0.1:{port}/static/fundushub/app.css").status_code == 200
        api = requests.get(f"http://127.0.0.1:{port}/api/retinopathy/ping/")
        assert api.status_code == 401 and api.headers["Server-Timing"].startswith("app;dur=")
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, output
    if server == "gunicorn":
        assert output.count("Booting worker") == 2, output
    else:
        assert "Booting worker" not in output


@pytest.mark.skipif(os.name != "posix", reason="gunicorn serves on POSIX only")
def test_serve_streams_a_large_upload_to_the_app_without_spooling_it_first(tmp_path):
    """A 20 MB body to an unknown session: the answer comes back while the body is still only
    partly sent, and the server keeps serving afterwards."""
    port, proc = start_serve(tmp_path, "1")
    try:
        wait_for_port(port, proc)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                # A camera upload (which may be 20 MB; any other URL's cap is far smaller).
                b"POST /api/retinopathy/105-10-0989-3/left/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 20000000\r\n\r\n"
            )
            sock.sendall(b"x" * 65536)  # a fraction of the body
            answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 401"), answer
        assert requests.get(f"http://127.0.0.1:{port}/accounts/login/").status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def test_worker_once_processes_pending_work_and_exits(tmp_path):
    env = clean_env(tmp_path)
    subprocess.run([*FUNDUSHUB, "manage", "migrate", "-v0"], env=env, check=True)
    result = subprocess.run(
        [*FUNDUSHUB, "worker", "--once"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
