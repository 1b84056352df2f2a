"""A clinic with two cameras, one writing a combined report and one a report per eye: every
examination ends on the server with the right eyes and checksums, and is archived locally."""

import pytest

from tests.e2e.conftest import (
    SimulatedCamera,
    archived,
    assert_examinations_on_server,
    assert_server_log_clean,
    stop,
    wait_for,
    watchdog_log,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_every_examination_ends_on_the_server_with_right_eyes_and_checksums_and_is_archived(
    clinic, fundushub_server, task_worker, run_watchdog, tmp_path
):
    server = fundushub_server()
    per_eye = SimulatedCamera(tmp_path / "per-eye", clinic.st_lucia, seed=2, report_type="per_eye")
    combined = SimulatedCamera(
        tmp_path / "combined", clinic.st_lucia, seed=1, report_type="combined"
    )

    # The per-eye camera's examinations wait in its folder: --once finds them at start-up.
    per_eye_exams = per_eye.register_and_write(per_eye.subjects(4, "105-20"))
    once = run_watchdog(per_eye, server.url, clinic.tokens["RET-CAM-002"], "RET-CAM-002", once=True)
    # The combined camera writes while its watchdog runs: file events, slow writes.
    live = run_watchdog(combined, server.url, clinic.tokens["RET-CAM-001"], "RET-CAM-001")
    combined_exams = combined.register_and_write(combined.subjects(4, "105-10"))

    assert once.wait(timeout=90) == 0, watchdog_log(per_eye)
    wait_for(
        lambda: len(archived(combined.watch_dir)) == 4,
        60,
        "the running watchdog to archive the combined examinations",
    )
    assert stop(live) == 0, watchdog_log(combined)

    assert_examinations_on_server(per_eye, per_eye_exams)
    assert_examinations_on_server(combined, combined_exams)
    assert_server_log_clean(server)
