"""`uv run pytest` on a machine without Debian's chromium: browser tests skip with one reason
locally, and are required (they fail) when CI=true."""

import os
import subprocess
import sys

from tests.conftest import ROOT


def _run_browser_md5_tests(ci: str | None):
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["FUNDUSHUB_CHROMIUM"] = "/nonexistent/chromium"
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/browser/test_md5.py",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_browser_tests_are_skipped_with_a_reason_when_chromium_is_absent_outside_ci():
    run = _run_browser_md5_tests(ci=None)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 skipped" in run.stdout
    assert "/nonexistent/chromium not found" in run.stdout


def test_browser_tests_fail_when_chromium_is_absent_in_ci():
    run = _run_browser_md5_tests(ci="true")
    assert run.returncode != 0
    assert "never `playwright install`" in run.stdout
