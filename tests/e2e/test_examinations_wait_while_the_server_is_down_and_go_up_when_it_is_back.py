"""The server is down for a while: the watchdog keeps everything where it is, keeps running and
keeps trying (backing off, visibly failing); once the server is back every examination goes up
and is archived."""

import subprocess

import pytest

from fundushub.camera.models import CameraFile, CameraSession
from tests.e2e.conftest import (
    SimulatedCamera,
    archived,
    assert_examinations_on_server,
    assert_server_log_clean,
    stop,
    wait_for,
    watchdog_command,
    watchdog_log,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_nothing_is_archived_while_the_server_is_down_and_everything_is_once_it_is_back(
    clinic, fundushub_server, task_worker, run_watchdog, tmp_path
):
    server = fundushub_server(start=False)
    camera = SimulatedCamera(tmp_path / "watch", clinic.st_lucia, seed=5, report_type="combined")
    token = clinic.tokens["RET-CAM-001"]
    watchdog = run_watchdog(camera, server.url, token, "RET-CAM-001", "--retries", "2")
    exams = camera.register_and_write(camera.subjects(4, "105-50"))

    # Down: every subject fails, is retried after a pause, and fails again.
    wait_for(
        lambda: (
            all(
                f"subject {e.subject_identifier}: cannot reach the server" in watchdog_log(camera)
                for e in exams
            )
            and "(attempt 2;" in watchdog_log(camera)
        ),
        30,
        "the watchdog to fail on every subject and try again",
    )
    assert watchdog.poll() is None, "the watchdog must survive a server outage"
    assert archived(camera.watch_dir) == []
    assert all((camera.watch_dir / e.folder).is_dir() for e in exams)
    status = subprocess.run(
        watchdog_command(camera, server.url, token, "RET-CAM-001", command="status"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert status.returncode == 1 and "failing" in status.stdout, status.stdout + status.stderr

    server.start()
    wait_for(
        lambda: len(archived(camera.watch_dir)) == len(exams),
        60,
        "every examination to be archived once the server is back",
    )
    assert watchdog.poll() is None
    assert stop(watchdog) == 0, watchdog_log(camera)
    assert_examinations_on_server(camera, exams)
    assert CameraSession.objects.count() == len(exams)
    assert CameraFile.objects.count() == sum(len(e.files) for e in exams)
    assert_server_log_clean(server)
