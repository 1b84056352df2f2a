"""SIGKILL at random moments while a batch of examinations with large pictures goes up, again
and again; restarted, the watchdog finishes: the server holds exactly the right files, once
each (no duplicate rows, no 409), and every examination is archived."""

import functools
import io
import random

import pytest
from PIL import Image as PILImage

from fundushub.camera.models import CameraFile, CameraSession
from tests.e2e.conftest import (
    SimulatedCamera,
    archived,
    assert_examinations_on_server,
    assert_server_log_clean,
    kill,
    wait_for,
    watchdog_log,
)

pytestmark = pytest.mark.django_db(transaction=True)
KILLS = 5
EXAMS = 8


@functools.lru_cache(maxsize=8)
def large_picture(eye: str, variant: int = 0, width: int = 1600, height: int = 1200) -> bytes:
    """A hard-to-compress JPEG of about 1.8 MB (sensor noise): uploads that take a while."""
    noise = PILImage.effect_noise((width, height), 50 + 10 * variant + (eye == "left"))
    out = io.BytesIO()
    noise.convert("RGB").save(out, "JPEG", quality=95)
    return out.getvalue()


def test_killed_again_and_again_during_uploads_it_finishes_with_each_file_on_the_server_once(
    clinic, fundushub_server, task_worker, run_watchdog, tmp_path, monkeypatch
):
    monkeypatch.setattr("fundus_watchdog.simulate.fundus_picture", large_picture)
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    server = fundushub_server()
    camera = SimulatedCamera(
        tmp_path / "watch",
        clinic.st_lucia,
        seed=seed,
        report_type="per_eye",
        image_size=(1600, 1200),
        chunk_size=256 * 1024,
    )
    exams = camera.register_and_write(camera.subjects(EXAMS, "105-60"))
    total = sum(len(e.files) for e in exams)
    on_server = CameraFile.objects.count
    token = clinic.tokens["RET-CAM-002"]

    def uploads_a_few_more(run, more: int) -> None:
        """Wait until this run has stored `more` files (or everything), mid-batch."""
        target = min(total, on_server() + more)
        wait_for(
            lambda: on_server() >= target or run.poll() is not None,
            30,
            "the restarted watchdog to upload",
            interval=0.01,
        )
        assert run.poll() is None, watchdog_log(camera)

    kills = []  # files on the server at each kill
    while len(kills) < KILLS and on_server() < total:
        run = run_watchdog(camera, server.url, token, "RET-CAM-002", "--workers", "1")
        uploads_a_few_more(run, rng.randint(1, 2))
        kill(run, wait_first=rng.uniform(0, 0.1))  # at a random moment after that
        kills.append(on_server())
    assert len(kills) == KILLS and sum(k < total for k in kills) >= KILLS - 1, (
        f"the kills did not land mid-batch (seed {seed}): {kills} of {total}"
    )

    final = run_watchdog(camera, server.url, token, "RET-CAM-002", once=True)
    assert final.wait(timeout=90) == 0, watchdog_log(camera)
    assert len(archived(camera.watch_dir)) == EXAMS
    assert CameraFile.objects.count() == total
    assert CameraSession.objects.count() == EXAMS
    assert_examinations_on_server(camera, exams)
    assert_server_log_clean(server)
    log = watchdog_log(camera)
    assert "different file with this name" not in log and "refused" not in log, log
