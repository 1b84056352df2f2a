"""`fundushub serve` (gunicorn and waitress) refuses a body over its URL's cap before reading it.

Each server runs as users run it, in its own process on its own data folder; a request declares a
large body, sends a fraction of it and waits: an answer while most of the body is unsent shows the
server neither read nor spooled it.
"""

import json
import os
import signal
import socket
import subprocess
import time

import pytest
import requests

from fundushub.request_bodies import LIMITS_TTL
from tests.test_cli import FUNDUSHUB, clean_env, free_port, wait_for_port

MiB = 1024 * 1024
SERVERS = [
    pytest.param("1", id="gunicorn", marks=pytest.mark.skipif(os.name != "posix", reason="POSIX")),
    pytest.param("0", id="waitress"),
]


@pytest.fixture
def serve(tmp_path):
    """serve(processes, **env) -> port of a running `fundushub serve` on a migrated data dir."""
    procs = []

    def start(processes, setup="", **extra):
        env = clean_env(tmp_path)
        env.update({k: str(v) for k, v in extra.items()})
        subprocess.run([*FUNDUSHUB, "manage", "migrate", "-v0"], env=env, check=True)
        if setup:
            subprocess.run([*FUNDUSHUB, "manage", "shell", "-c", setup], env=env, check=True)
        port = free_port()
        proc = subprocess.Popen(
            [*FUNDUSHUB, "serve", "--port", str(port), "--processes", processes],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        procs.append(proc)
        wait_for_port(port, proc)
        return port

    yield start
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def declare(port, path, length, sent=32 * 1024, headers="") -> tuple[bytes, float]:
    """POST declaring `length` body bytes, send `sent` of them, return (answer, seconds)."""
    started = time.monotonic()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}"
        f"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: {length}\r\n\r\n"
    )
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        try:
            sock.sendall(head.encode() + b"x" * sent)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered and closed before taking all of it: the answer is read below
        try:
            while b"\r\n\r\n" not in answer or not _complete(answer):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except ConnectionResetError:
            pass  # the unread rest of the body makes the close a reset
    return answer, time.monotonic() - started


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def status_and_body(answer: bytes) -> tuple[int, bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


def staged(tmp_path) -> list:
    return [p for p in (tmp_path / "media" / "staging").rglob("*") if p.is_file()]


@pytest.mark.parametrize("processes", SERVERS)
def test_it_refuses_300_mib_to_the_ping_url_unread_and_unauthenticated(serve, processes, tmp_path):
    port = serve(processes)
    answer, seconds = declare(port, "/api/retinopathy/ping/", 300 * MiB)
    status, body = status_and_body(answer)
    print(f"300 MiB declared to ping: {status} after {seconds:.2f} s with 32 KiB sent")
    assert status == 413, answer
    assert json.loads(body)["code"] == "too_large"
    assert staged(tmp_path) == []
    # The server goes on serving.
    assert requests.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=10).status_code == 200


@pytest.mark.parametrize("processes", SERVERS)
def test_it_refuses_a_camera_file_over_the_camera_limit_as_the_contract_says(
    serve, processes, tmp_path
):
    port = serve(processes, FUNDUSHUB_CAMERA_MAX_UPLOAD_MB=2)
    answer, _ = declare(port, "/api/retinopathy/105-10-0989-3/left/", 3 * MiB)
    status, body = status_and_body(answer)
    assert status == 400, answer
    assert json.loads(body) == {
        "code": "file_too_large",
        "error": "The file is larger than the 2 MB limit.",
    }
    assert staged(tmp_path) == []


@pytest.mark.parametrize("processes", SERVERS)
def test_the_direct_upload_cap_follows_the_limits_an_admin_set(serve, processes, tmp_path):
    port = serve(
        processes,
        setup="from fundushub.accounts.models import UploadLimits; "
        "UploadLimits.objects.create(max_files=2, max_file_size_mb=1)",
    )
    # 2 files of 1 MB and the form: about 4.5 MB. 6 MB is refused unread, with the limits named.
    answer, _ = declare(port, "/direct/upload", 6 * MiB, headers="Accept: application/json\r\n")
    status, body = status_and_body(answer)
    assert status == 413, answer
    assert json.loads(body)["error"] == (
        "The upload is too large: send at most 2 files of at most 1 MB each at once. "
        "Nothing was stored."
    )
    # 3 MB fits: the whole body is read, and the view answers (here: sign in first).
    answer, _ = declare(port, "/direct/upload", 3 * MiB, sent=3 * MiB)
    assert status_and_body(answer)[0] == 302, answer
    assert staged(tmp_path) == []


@pytest.mark.parametrize("processes", SERVERS)
def test_limits_an_admin_raises_while_the_server_runs_apply_within_seconds(
    serve, processes, tmp_path
):
    # Every cap at the start is under 5 MB (waitress's own ceiling then too).
    set_limits = (
        "from fundushub.accounts.models import UploadLimits; UploadLimits.objects.all().delete(); "
    )
    port = serve(
        processes,
        setup=set_limits + "UploadLimits.objects.create(max_files=2, max_file_size_mb=1)",
        FUNDUSHUB_CAMERA_MAX_UPLOAD_MB=1,
    )
    answer, _ = declare(port, "/direct/upload", 6 * MiB)
    assert status_and_body(answer)[0] == 413, answer
    env = clean_env(tmp_path)
    command = set_limits + "UploadLimits.objects.create(max_files=4, max_file_size_mb=2)"
    subprocess.run([*FUNDUSHUB, "manage", "shell", "-c", command], env=env, check=True)
    # Each process re-reads the limits once they are LIMITS_TTL old: ask until it answers with
    # the new ones (the bound only guards against a server that never re-reads them).
    deadline = time.monotonic() + LIMITS_TTL + 60
    while True:
        answer, _ = declare(port, "/direct/upload", 6 * MiB, sent=6 * MiB)
        if status_and_body(answer)[0] != 413 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert status_and_body(answer)[0] == 302, answer
