"""`fundushub serve --processes 2`: /metrics counts the requests every web process answered."""

import os
import re
import subprocess

import pytest
import requests

from tests.test_cli import FUNDUSHUB, clean_env, free_port, wait_for_port

pytestmark = pytest.mark.skipif(os.name != "posix", reason="gunicorn's processes are POSIX only")
TOKEN = "metrics-token-for-this-test-only-0123456789"


def served(tmp_path, port):
    env = clean_env(tmp_path)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env["FUNDUSHUB_METRICS_TOKEN"] = TOKEN
    subprocess.run([*FUNDUSHUB, "manage", "migrate", "-v0"], env=env, check=True)
    command = [*FUNDUSHUB, "serve", "--port", str(port), "--processes", "2", "--threads", "1"]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def live_requests(text: str) -> float:
    pattern = r'fundushub_http_requests_total\{[^}]*route="[^"]*live[^"]*"[^}]*\} ([0-9.e+]+)'
    return sum(float(n) for n in re.findall(pattern, text))


def test_the_request_count_adds_up_over_both_web_processes(tmp_path):
    port = free_port()
    proc = served(tmp_path, port)
    try:
        wait_for_port(port, proc)
        base = f"http://127.0.0.1:{port}"
        # Fresh connections: gunicorn hands them to either process.
        for _ in range(40):
            assert requests.get(f"{base}/health/live", timeout=10).status_code == 200
        auth = {"Authorization": f"Bearer {TOKEN}"}
        scrapes = [requests.get(f"{base}/metrics", headers=auth, timeout=10) for _ in range(4)]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert all(s.status_code == 200 for s in scrapes)
    # Every scrape, whichever process answers it, sees all 40 requests.
    assert [live_requests(s.text) for s in scrapes] == [40.0] * 4
