"""Our server in register mode (the newer generation): staff register each examination
beforehand; the watchdog sends every examination to the session staff created, and a subject
whose only session is complete or contraindicated goes to rejected/ with nothing sent."""

import re

import pytest

from fundushub.camera.models import CameraFile, CameraSession, Subject
from tests.camera.conftest import add_file
from tests.e2e.conftest import (
    ARCHIVE_NAME,
    SimulatedCamera,
    archived,
    assert_examinations_on_server,
    assert_server_log_clean,
    watchdog_log,
)

pytestmark = pytest.mark.django_db(transaction=True)


def staff_register(identifier, report_type, **fields) -> CameraSession:
    subject = Subject.objects.get(subject_identifier=identifier)
    return CameraSession.objects.create(
        subject=subject, hospital=subject.site, report_type=report_type, **fields
    )


def test_examinations_go_to_the_sessions_staff_registered_and_closed_ones_are_rejected(
    clinic, fundushub_server, task_worker, run_watchdog, tmp_path
):
    server = fundushub_server(mode="register")
    cameras = {
        "combined": SimulatedCamera(
            tmp_path / "c", clinic.st_lucia, seed=3, report_type="combined"
        ),
        "per_eye": SimulatedCamera(tmp_path / "p", clinic.st_lucia, seed=4, report_type="per_eye"),
    }
    exams, registered, closed = {}, {}, {}
    for (report_type, camera), prefix in zip(cameras.items(), ["105-30", "105-40"], strict=True):
        subjects = camera.subjects(5, prefix)
        demographics = {s: camera.register(s) for s in subjects}
        *open_ones, done = subjects
        registered[report_type] = {s: staff_register(s, report_type).pk for s in open_ones}
        # The last subject's only examination is closed: complete (combined camera) or
        # contraindicated (per-eye camera).
        if report_type == "combined":
            session = staff_register(done, report_type)
            for file_type in ("left", "right", "report"):
                add_file(session, file_type)
        else:
            session = staff_register(done, report_type, contraindicated=True)
        closed[report_type] = (done, session.pk, session.files.count())
        exams[report_type] = [camera.examination(s, demographics[s]) for s in subjects]

    runs = {
        report_type: run_watchdog(
            camera, server.url, clinic.tokens["RET-CAM-001"], "RET-CAM-001", once=True
        )
        for report_type, camera in cameras.items()
    }
    for report_type, run in runs.items():
        camera = cameras[report_type]
        # --once: 0 only when everything was archived; a rejected folder is not.
        assert run.wait(timeout=90) == 1, watchdog_log(camera)
        *sent, rejected = exams[report_type]
        assert_examinations_on_server(camera, sent)
        for exam in sent:
            session = CameraSession.objects.get(subject__subject_identifier=exam.subject_identifier)
            assert session.pk == registered[report_type][exam.subject_identifier]

        subject, session_id, files_before = closed[report_type]
        assert rejected.subject_identifier == subject
        assert not (camera.watch_dir / rejected.folder).exists()
        [folder] = archived(camera.watch_dir, "rejected")
        assert re.fullmatch(ARCHIVE_NAME.format(subject=subject), folder.name)
        assert sorted(p.name for p in folder.iterdir()) == sorted(f.name for f in rejected.files)
        assert CameraSession.objects.filter(subject__subject_identifier=subject).count() == 1
        assert CameraFile.objects.filter(session_id=session_id).count() == files_before
        log = watchdog_log(camera)
        assert f"not archived: {rejected.folder}: rejected" in log
        assert "staff must open a new one on the server" in log
    assert_server_log_clean(server)
