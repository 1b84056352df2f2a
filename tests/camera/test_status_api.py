"""GET <subject_identifier>/status/: which session, and its completeness groups."""

import uuid
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from fundushub.camera.models import CameraSession, Subject
from tests.camera.conftest import (
    add_file,
    api,
    make_session,
    resolve,
    status,
    upload,
)

SUBJECT = "105-10-0989-3"
STATUS_KEYS = {
    "session_id",
    "eye_exam_register_id",
    "subject_identifier",
    "report_datetime",
    "report_type",
    "uploaded",
    "missing",
    "complete",
    "checks",  # ours, optional: the checks at ingest (tests/camera/test_checks_in_answers.py)
}


def ok(response, subject=SUBJECT) -> dict:
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == STATUS_KEYS
    assert body["session_id"] == body["eye_exam_register_id"]
    assert body["subject_identifier"] == subject
    parsed = datetime.fromisoformat(body["report_datetime"])
    assert parsed.tzinfo is not None
    return body


def no_session(response):
    assert response.status_code == 404, response.content
    body = response.json()
    assert body["code"] == "no_session"
    assert isinstance(body["error"], str) and body["error"]


def test_status_of_a_freshly_resolved_session(cam):
    client = api(cam.token)
    session_id = resolve(client).json()["session_id"]
    body = ok(status(client))
    assert body["session_id"] == session_id
    assert body["subject_identifier"] == SUBJECT
    assert body["report_type"] == "combined"
    assert body["uploaded"] == []
    assert body["missing"] == ["left_dicom", "report", "right_dicom"]
    assert body["complete"] is False


def test_status_follows_real_uploads_to_completion(cam):
    client = api(cam.token)
    resolve(client)
    upload(client, "right")
    assert ok(status(client))["missing"] == ["left_dicom", "report"]
    upload(client, "left_dicom")
    upload(client, "report", capture_datetime="2026-11-21T10:00:00+00:00")
    body = ok(status(client))
    assert body["uploaded"] == ["left_dicom", "report", "right"]
    assert body["missing"] == []
    assert body["complete"] is True


def test_no_session_at_all_is_404(cam):
    no_session(status(api(cam.token)))
    assert not CameraSession.objects.exists()


def test_an_unknown_subject_is_404(cam):
    no_session(status(api(cam.token), "999-99-9999-9"))


@pytest.mark.parametrize("subject", ["105-10%000989-3", "x" * 51], ids=["nul", "too-long"])
def test_an_identifier_no_subject_can_have_is_404_not_a_database_error(cam, subject):
    # PostgreSQL refuses NUL in text outright: it must never reach a query.
    no_session(status(api(cam.token), subject))


def test_status_never_creates_a_session(cam, settings):
    for mode in ("session", "register"):
        settings.CAMERA_API_MODE = mode
        no_session(status(api(cam.token)))
    assert not CameraSession.objects.exists()


# --- which session -------------------------------------------------------------------------------


def test_the_default_is_the_session_resolve_last_returned_not_the_newest(cam):
    client = api(cam.token)
    resolved = resolve(client).json()["session_id"]
    newer = make_session(cam.subject, device=cam.device)
    CameraSession.objects.filter(pk=newer.pk).update(
        created_at=timezone.now() + timedelta(minutes=5)
    )
    assert ok(status(client))["session_id"] == resolved


def test_the_default_follows_the_latest_resolve(cam):
    client = api(cam.token)
    first = resolve(client).json()["session_id"]
    for file_type in ("left", "right", "report"):
        upload(client, file_type)
    second = resolve(client).json()["session_id"]
    assert second != first
    assert ok(status(client))["session_id"] == second


def test_without_any_resolve_the_default_is_the_most_recent_session(cam):
    make_session(cam.subject, hours_ago=50)
    newest = make_session(cam.subject, hours_ago=2)
    make_session(cam.subject, hours_ago=20)
    assert ok(status(api(cam.token)))["session_id"] == str(newest.pk)


def test_register_mode_default_is_the_register_resolve_returned(cam, settings):
    settings.CAMERA_API_MODE = "register"
    older = make_session(cam.subject, hours_ago=30)
    make_session(cam.subject, hours_ago=3, files=("left", "right", "report"))
    client = api(cam.token)
    assert resolve(client).json()["eye_exam_register_id"] == str(older.pk)
    assert ok(status(client))["eye_exam_register_id"] == str(older.pk)


@pytest.mark.parametrize("param", ["session_id", "eye_exam_register_id"])
def test_either_query_parameter_selects_the_session(cam, param):
    client = api(cam.token)
    resolve(client)
    other = make_session(cam.subject, hours_ago=40, files=("left",))
    body = ok(status(client, query=f"{param}={other.pk}"))
    assert body["session_id"] == str(other.pk)
    assert body["uploaded"] == ["left"]


@pytest.mark.parametrize("param", ["session_id", "eye_exam_register_id"])
@pytest.mark.parametrize("value", ["abc", "1", "0", "'; drop table x; --", str(uuid.uuid4())])
def test_a_malformed_or_unknown_session_id_is_404_never_500(cam, param, value):
    resolve(api(cam.token))
    no_session(status(api(cam.token), query=f"{param}={value}"))


def test_the_session_of_another_subject_is_404(cam):
    Subject.objects.create(subject_identifier="105-10-0990-1", site=cam.st_lucia)
    other = resolve(api(cam.token), "105-10-0990-1").json()["session_id"]
    resolve(api(cam.token))
    no_session(status(api(cam.token), query=f"session_id={other}"))


def test_another_hospitals_session_id_is_404(cam):
    foreign = resolve(api(cam.other_token), "205-20-0001-1").json()["session_id"]
    resolve(api(cam.token))
    for subject in ("205-20-0001-1", SUBJECT):
        for param in ("session_id", "eye_exam_register_id"):
            no_session(status(api(cam.token), subject, query=f"{param}={foreign}"))


def test_another_hospitals_subject_is_indistinguishable_from_an_unknown_one(cam):
    resolve(api(cam.other_token), "205-20-0001-1")
    foreign = status(api(cam.token), "205-20-0001-1")
    unknown = status(api(cam.token), "205-20-0001-9")
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json()


def test_another_hospitals_device_sees_no_session_of_this_hospitals_subject(cam):
    resolve(api(cam.token))
    no_session(status(api(cam.other_token)))


# --- completeness groups -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "files, uploaded, missing",
    [
        ((), [], ["left_dicom", "report", "right_dicom"]),
        (("left",), ["left"], ["report", "right_dicom"]),
        (("left_dicom",), ["left_dicom"], ["report", "right_dicom"]),
        (("left", "right"), ["left", "right"], ["report"]),
        (("report",), ["report"], ["left_dicom", "right_dicom"]),
        (("left", "right", "report"), ["left", "report", "right"], []),
        (("left_dicom", "right_dicom", "report"), ["left_dicom", "report", "right_dicom"], []),
        (("left", "right_dicom", "report"), ["left", "report", "right_dicom"], []),
        (
            ("right", "left", "left_dicom", "report", "left"),
            ["left", "left_dicom", "report", "right"],
            [],
        ),
    ],
)
def test_combined_completeness_groups(cam, files, uploaded, missing):
    make_session(cam.subject, report_type="combined", files=files)
    body = ok(status(api(cam.token)))
    assert body["report_type"] == "combined"
    assert body["uploaded"] == uploaded
    assert body["missing"] == missing
    assert body["complete"] is (missing == [])


@pytest.mark.parametrize(
    "files, uploaded, missing",
    [
        ((), [], ["left_dicom", "left_report", "right_dicom", "right_report"]),
        (("left", "right"), ["left", "right"], ["left_report", "right_report"]),
        (("left", "right", "left_report"), ["left", "left_report", "right"], ["right_report"]),
        (
            ("left_dicom", "right_dicom", "left_report", "right_report"),
            ["left_dicom", "left_report", "right_dicom", "right_report"],
            [],
        ),
        (
            ("left", "right_dicom", "right_report", "left_report"),
            ["left", "left_report", "right_dicom", "right_report"],
            [],
        ),
        (("right_report",), ["right_report"], ["left_dicom", "left_report", "right_dicom"]),
    ],
)
def test_per_eye_completeness_groups(cam, files, uploaded, missing):
    make_session(cam.subject, report_type="per_eye", files=files)
    body = ok(status(api(cam.token)))
    assert body["report_type"] == "per_eye"
    assert body["uploaded"] == uploaded
    assert body["missing"] == missing
    assert body["complete"] is (missing == [])


def test_a_combined_session_that_receives_per_eye_reports_is_judged_per_eye(cam):
    session = make_session(cam.subject, report_type="combined", files=("left", "right"))
    add_file(session, "left_report", "lr.html")
    body = ok(status(api(cam.token)))
    assert body["report_type"] == "per_eye"
    assert body["missing"] == ["right_report"]
    assert body["complete"] is False
    add_file(session, "right_report", "rr.html")
    body = ok(status(api(cam.token)))
    assert body["report_type"] == "per_eye"
    assert body["missing"] == []
    assert body["complete"] is True


def test_a_per_eye_session_that_receives_a_combined_report_is_judged_combined(cam):
    make_session(cam.subject, report_type="per_eye", files=("left_dicom", "right", "report"))
    body = ok(status(api(cam.token)))
    assert body["report_type"] == "combined"
    assert body["missing"] == []
    assert body["complete"] is True


def test_a_per_eye_session_without_reports_is_judged_as_configured(cam):
    make_session(cam.subject, report_type="per_eye", files=("left", "right"))
    body = ok(status(api(cam.token)))
    assert body["report_type"] == "per_eye"
    assert body["missing"] == ["left_report", "right_report"]


def test_a_camera_configured_differently_from_its_device_still_completes_via_uploads(cam):
    """Session combined (device default), camera sends per-eye HTML reports and DICOMs."""
    client = api(cam.token)
    resolve(client, device_id="RET-CAM-001")
    for file_type in ("left_dicom", "right_dicom", "left_report", "right_report"):
        assert upload(client, file_type).status_code == 201
    body = ok(status(client))
    assert body["report_type"] == "per_eye"
    assert body["complete"] is True and body["missing"] == []


def test_report_type_in_the_body_is_the_sessions(cam):
    resolve(api(cam.token), report_type="per_eye")
    body = ok(status(api(cam.token)))
    assert body["report_type"] == "per_eye"
    assert body["missing"] == ["left_dicom", "left_report", "right_dicom", "right_report"]


def test_a_contraindicated_session_still_answers_status(cam):
    session = make_session(cam.subject, contraindicated=True, files=("left",))
    assert ok(status(api(cam.token)))["session_id"] == str(session.pk)
