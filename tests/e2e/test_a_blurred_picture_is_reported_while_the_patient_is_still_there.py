"""A camera writes an examination whose left picture is blurred: the server stores it, checks it
seconds later, and the watchdog, before archiving, logs a plain sentence saying to recapture it."""

import io

import pytest
from PIL import Image as PILImage
from PIL import ImageFilter

from fundushub.checks.registry import CHECKS
from tests.e2e.conftest import (
    SimulatedCamera,
    archived,
    assert_examinations_on_server,
    assert_server_log_clean,
    watchdog_log,
)

pytestmark = pytest.mark.django_db(transaction=True)
SUBJECT = "105-10-0989-3"


def blur(path) -> None:
    with PILImage.open(path) as im:
        blurred = im.convert("RGB").filter(ImageFilter.GaussianBlur(12))
    out = io.BytesIO()
    blurred.save(out, "JPEG", quality=90)
    path.write_bytes(out.getvalue())


def test_the_watchdog_says_to_recapture_a_blurred_left_picture_before_archiving(
    clinic, fundushub_server, task_worker, run_watchdog, tmp_path
):
    if "gradability" not in CHECKS:
        pytest.skip("the gradability check is not installed")
    server = fundushub_server()
    camera = SimulatedCamera(
        tmp_path / "cam", clinic.st_lucia, seed=3, report_type="combined", image_size=(1200, 1000)
    )
    exam = camera.examination(SUBJECT, camera.register(SUBJECT))
    left = next(f for f in exam.files if f.eye == "left" and f.name.endswith(".jpg"))
    blur(camera.watch_dir / exam.folder / left.name)

    run = run_watchdog(
        camera, server.url, clinic.tokens["RET-CAM-001"], "RET-CAM-001", "--checks-wait", "60",
        once=True,
    )  # fmt: skip
    assert run.wait(timeout=120) == 0, watchdog_log(camera)

    log = watchdog_log(camera)
    sentence = (
        f"left image of {SUBJECT} looks blurred — recapture while the patient is here ({left.name})"
    )
    assert sentence in log, log
    assert f"right image of {SUBJECT} looks blurred" not in log
    assert "still checking" not in log, log  # the results came within the wait
    assert len(archived(camera.watch_dir)) == 1
    assert_examinations_on_server(camera, [exam])
    assert_server_log_clean(server)
