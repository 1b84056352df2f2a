"""POST resolve/: subject -> examination session, in session mode (default) and register mode."""

import uuid
from datetime import timedelta

import pytest

from fundushub.camera.models import CameraDevice, CameraSession, Subject
from tests.camera.conftest import (
    add_file,
    api,
    issue_token,
    make_session,
    resolve,
    status,
    upload,
    years_ago,
)

SUBJECT = "105-10-0989-3"
RESOLVE_KEYS = {
    "subject_identifier",
    "session_id",
    "eye_exam_register_id",
    "reactivated",
    "uploaded",
}
COMPLETE = ("left", "right", "report")


def ok(response) -> dict:
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == RESOLVE_KEYS
    assert body["session_id"] == body["eye_exam_register_id"]
    uuid.UUID(body["session_id"])
    return body


def error_of(response, status_code, code):
    assert response.status_code == status_code, response.content
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["error"], str) and body["error"]
    return body


@pytest.fixture
def register_mode(settings):
    settings.CAMERA_API_MODE = "register"


# --- session mode: success -----------------------------------------------------------------------


def test_resolve_creates_a_session_and_answers_200_with_both_id_keys(cam):
    body = ok(resolve(api(cam.token)))
    session = CameraSession.objects.get()
    assert body == {
        "subject_identifier": SUBJECT,
        "session_id": str(session.pk),
        "eye_exam_register_id": str(session.pk),
        "reactivated": False,
        "uploaded": [],
    }
    assert session.subject == cam.subject
    assert session.hospital == cam.st_lucia
    assert session.device == cam.device
    assert session.report_type == "combined"


def test_the_older_clients_full_request_is_accepted(cam):
    body = ok(
        resolve(
            api(cam.token),
            initials="JD",
            sex="M",
            age=54,
            device_id="RET-CAM-001",
            site_id="40",
        )
    )
    assert body["reactivated"] is False


def test_the_newer_clients_request_is_accepted(cam):
    ok(resolve(api(cam.token), device_id="RET-CAM-001"))


def test_a_second_resolve_reuses_the_incomplete_session_and_says_reactivated(cam):
    client = api(cam.token)
    first = ok(resolve(client))
    assert upload(client, "left").status_code == 201
    second = ok(resolve(client))
    assert second["session_id"] == first["session_id"]
    assert second["reactivated"] is True
    assert second["uploaded"] == ["left"]
    assert CameraSession.objects.count() == 1


def test_uploaded_lists_distinct_sorted_file_types(cam):
    client = api(cam.token)
    ok(resolve(client))
    for file_type, name in [("right", "r1.jpg"), ("left", "l1.jpg"), ("left", "l2.jpg")]:
        assert upload(client, file_type, name=name).status_code == 201
    assert ok(resolve(client))["uploaded"] == ["left", "right"]


def test_the_newest_incomplete_session_in_the_window_is_reused(cam):
    make_session(cam.subject, device=cam.device, hours_ago=5)
    newer = make_session(cam.subject, device=cam.device, hours_ago=2)
    body = ok(resolve(api(cam.token)))
    assert body["session_id"] == str(newer.pk)
    assert body["reactivated"] is True


def test_a_complete_newer_session_is_skipped_for_an_older_incomplete_one_in_the_window(cam):
    older = make_session(cam.subject, device=cam.device, hours_ago=5, files=("left",))
    make_session(cam.subject, device=cam.device, hours_ago=1, files=COMPLETE)
    body = ok(resolve(api(cam.token)))
    assert body["session_id"] == str(older.pk)
    assert body["uploaded"] == ["left"]


def test_an_incomplete_session_older_than_the_window_is_not_reused(cam):
    old = make_session(cam.subject, device=cam.device, hours_ago=25)
    body = ok(resolve(api(cam.token)))
    assert body["session_id"] != str(old.pk)
    assert body["reactivated"] is False
    assert body["uploaded"] == []
    assert CameraSession.objects.count() == 2


def test_a_complete_session_in_the_window_is_not_reused(cam):
    done = make_session(cam.subject, device=cam.device, hours_ago=1, files=COMPLETE)
    body = ok(resolve(api(cam.token)))
    assert body["session_id"] != str(done.pk)
    assert body["reactivated"] is False
    assert CameraSession.objects.count() == 2


def test_a_session_completed_through_uploads_is_followed_by_a_new_one(cam):
    client = api(cam.token)
    first = ok(resolve(client))
    for file_type in ("left_dicom", "right_dicom", "report"):
        assert upload(client, file_type).status_code == 201
    second = ok(resolve(client))
    assert second["session_id"] != first["session_id"]
    assert second["reactivated"] is False


@pytest.mark.parametrize("hours_ago, reused", [(1.5, True), (2.5, False)])
def test_the_reactivation_window_is_a_setting(cam, settings, hours_ago, reused):
    settings.CAMERA_REACTIVATION_HOURS = 2
    session = make_session(cam.subject, device=cam.device, hours_ago=hours_ago)
    body = ok(resolve(api(cam.token)))
    assert (body["session_id"] == str(session.pk)) is reused
    assert body["reactivated"] is reused


def test_a_session_of_another_hospital_is_never_reused(cam):
    """Sessions of the same subject identifier registered at another hospital are invisible."""
    elsewhere = make_session(cam.subject, hospital=cam.northgate, hours_ago=1)
    body = ok(resolve(api(cam.token)))
    assert body["session_id"] != str(elsewhere.pk)
    assert CameraSession.objects.get(pk=body["session_id"]).hospital == cam.st_lucia


# --- demographics as real cameras send them ------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"initials": "JD", "sex": "M", "age": 54},
        {"initials": "jd", "sex": "m"},  # case-insensitive
        {"initials": "Jd"},
        {"initials": "", "sex": ""},  # empty means "not sent"
        {"initials": "", "sex": "", "age": ""},
        {"age": 53},  # ±1 year
        {"age": 55},
        {"age": 54.0},
        {"age": "54"},  # text from the camera's database
        {"age": "55"},
        {"age": " 53 "},
        {"age": None},
        {"age": "fifty-four"},  # not a number: not checked
        {"age": "unknown"},
        {"age": "99 years"},
    ],
)
def test_matching_or_unsent_demographics_resolve(cam, fields):
    ok(resolve(api(cam.token), **fields))


@pytest.mark.parametrize(
    "fields, wrong",
    [
        ({"initials": "XY"}, ["initials"]),
        ({"sex": "F"}, ["sex"]),
        ({"age": 56}, ["age"]),
        ({"age": 52}, ["age"]),
        ({"age": "60"}, ["age"]),
        ({"age": 20.5}, ["age"]),
        ({"initials": "XY", "sex": "F", "age": 30}, ["initials", "sex", "age"]),
    ],
)
def test_mismatching_demographics_are_a_validation_mismatch_listing_which(cam, fields, wrong):
    body = error_of(resolve(api(cam.token), **fields), 400, "validation_mismatch")
    assert isinstance(body["errors"], list) and len(body["errors"]) == len(wrong)
    for field, message in zip(wrong, body["errors"], strict=True):
        assert field in message.lower()
    assert not CameraSession.objects.exists()


def test_a_non_numeric_age_is_recorded_as_sent(cam):
    body = ok(resolve(api(cam.token), age="fifty-four", initials="JD"))
    session = CameraSession.objects.get(pk=body["session_id"])
    assert session.sent["age"] == "fifty-four"


def test_age_is_checked_against_the_date_of_birth_today(cam):
    """Born 54 years ago tomorrow: still 53 today, so 52..54 match and 55 does not."""
    tomorrow_54_years_ago = years_ago(54) + timedelta(days=1)
    Subject.objects.filter(pk=cam.subject.pk).update(date_of_birth=tomorrow_54_years_ago)
    ok(resolve(api(cam.token), age=52))
    ok(resolve(api(cam.token), age=54))
    error_of(resolve(api(cam.token), age=55), 400, "validation_mismatch")


# --- unknown keys, site_id, device_id, report_type -----------------------------------------------


def test_unknown_keys_are_ignored(cam):
    ok(resolve(api(cam.token), camera_serial="XZ-1", foo={"a": [1, 2]}, visit=3, eye=None))


@pytest.mark.parametrize("site_id", ["40", 40, "", "Nowhere General", 0])
def test_site_id_is_recorded_as_sent_and_never_fails(cam, site_id):
    body = ok(resolve(api(cam.token), site_id=site_id))
    session = CameraSession.objects.get(pk=body["session_id"])
    assert str(session.sent["site_id"]) == str(site_id)
    assert session.hospital == cam.st_lucia


@pytest.mark.parametrize("device_id", ["SOME-OTHER-CAM", 17, "", "NG-CAM-9"])
def test_device_id_is_recorded_as_sent_and_never_fails(cam, device_id):
    body = ok(resolve(api(cam.token), device_id=device_id))
    session = CameraSession.objects.get(pk=body["session_id"])
    assert str(session.sent["device_id"]) == str(device_id)
    assert session.device == cam.device  # the token decides, not what the camera says


def test_site_id_of_another_hospital_does_not_widen_what_the_token_may_touch(cam):
    response = resolve(api(cam.token), "205-20-0001-1", site_id=str(cam.northgate.pk))
    error_of(response, 400, "subject_not_found")
    body = ok(resolve(api(cam.token), site_id=cam.northgate.pk))
    assert CameraSession.objects.get(pk=body["session_id"]).hospital == cam.st_lucia


@pytest.mark.parametrize("report_type", ["per_eye", "combined"])
def test_report_type_is_taken_from_the_request(cam, report_type):
    body = ok(resolve(api(cam.token), report_type=report_type))
    assert CameraSession.objects.get(pk=body["session_id"]).report_type == report_type
    assert status(api(cam.token)).json()["report_type"] == report_type


def test_report_type_defaults_to_the_devices_configured_type(cam):
    token = issue_token("RET-CAM-PE", cam.retina, "--report-type", "per_eye")
    assert CameraDevice.objects.get(device_id="RET-CAM-PE").report_type == "per_eye"
    body = ok(resolve(api(token)))
    assert CameraSession.objects.get(pk=body["session_id"]).report_type == "per_eye"


def test_the_request_report_type_wins_over_the_devices(cam):
    token = issue_token("RET-CAM-PE", cam.retina, "--report-type", "per_eye")
    body = ok(resolve(api(token), report_type="combined"))
    assert CameraSession.objects.get(pk=body["session_id"]).report_type == "combined"


def test_a_device_without_a_configured_report_type_gives_combined(cam):
    body = ok(resolve(api(cam.token)))
    assert CameraSession.objects.get(pk=body["session_id"]).report_type == "combined"


# --- session mode: errors ------------------------------------------------------------------------


def test_an_unregistered_subject_is_subject_not_found(cam):
    error_of(resolve(api(cam.token), "999-99-9999-9"), 400, "subject_not_found")
    assert not CameraSession.objects.exists()


def test_another_hospitals_subject_is_indistinguishable_from_an_unknown_one(cam):
    unknown = resolve(api(cam.token), "205-20-0001-9")
    foreign = resolve(api(cam.token), "205-20-0001-1")
    assert foreign.status_code == unknown.status_code
    assert foreign.json()["code"] == unknown.json()["code"]
    assert set(foreign.json()) == set(unknown.json())
    assert foreign.json()["error"].replace("205-20-0001-1", "ID") == unknown.json()[
        "error"
    ].replace("205-20-0001-9", "ID")
    assert not CameraSession.objects.exists()


def test_a_device_resolves_its_own_hospitals_subject(cam):
    body = ok(resolve(api(cam.other_token), "205-20-0001-1"))
    assert CameraSession.objects.get(pk=body["session_id"]).hospital == cam.northgate


def test_a_missing_subject_identifier_is_a_field_error(cam):
    response = api(cam.token).post(
        "/api/retinopathy/resolve/", {"device_id": "RET-CAM-001"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"subject_identifier": ["This field is required."]}


def test_an_empty_body_is_a_field_error(cam):
    response = api(cam.token).post("/api/retinopathy/resolve/", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {"subject_identifier": ["This field is required."]}


@pytest.mark.parametrize("identifier", ["x" * 51, "", None])
def test_an_invalid_subject_identifier_is_a_field_error(cam, identifier):
    response = resolve(api(cam.token), identifier)
    assert response.status_code == 400
    body = response.json()
    assert list(body) == ["subject_identifier"]
    assert isinstance(body["subject_identifier"], list) and body["subject_identifier"]
    assert all(isinstance(m, str) for m in body["subject_identifier"])


def test_fifty_characters_is_not_a_field_error(cam):
    error_of(resolve(api(cam.token), "x" * 50), 400, "subject_not_found")


def test_a_json_body_that_is_not_an_object_is_a_400_not_a_500(cam):
    response = api(cam.token).post("/api/retinopathy/resolve/", [1, 2], format="json")
    assert response.status_code == 400


# --- register mode -------------------------------------------------------------------------------


def test_register_mode_returns_the_staff_registered_session_with_200(cam, register_mode):
    session = make_session(cam.subject, device=None, hours_ago=48)
    body = ok(resolve(api(cam.token), device_id="RET-CAM-001"))
    assert body["session_id"] == str(session.pk)
    assert body["subject_identifier"] == SUBJECT
    assert body["uploaded"] == []
    assert isinstance(body["reactivated"], bool)


def test_register_mode_never_creates_a_session(cam, register_mode):
    error_of(resolve(api(cam.token)), 404, "no_session")
    assert not CameraSession.objects.exists()


def test_register_mode_unknown_subject_is_no_session(cam, register_mode):
    error_of(resolve(api(cam.token), "999-99-9999-9"), 404, "no_session")


def test_register_mode_returns_the_newest_open_session(cam, register_mode):
    make_session(cam.subject, hours_ago=30)
    newest = make_session(cam.subject, hours_ago=3)
    assert ok(resolve(api(cam.token)))["session_id"] == str(newest.pk)


def test_register_mode_skips_complete_sessions(cam, register_mode):
    older = make_session(cam.subject, hours_ago=30, files=("left",))
    make_session(cam.subject, hours_ago=3, files=COMPLETE)
    body = ok(resolve(api(cam.token)))
    assert body["session_id"] == str(older.pk)
    assert body["uploaded"] == ["left"]


def test_register_mode_skips_contraindicated_sessions(cam, register_mode):
    older = make_session(cam.subject, hours_ago=30)
    make_session(cam.subject, hours_ago=3, contraindicated=True)
    assert ok(resolve(api(cam.token)))["session_id"] == str(older.pk)


def test_register_mode_judges_completeness_by_the_files_received(cam, register_mode):
    """A per_eye-configured session that got a combined report (and both eyes) is complete."""
    older = make_session(cam.subject, hours_ago=30)
    make_session(cam.subject, hours_ago=3, report_type="per_eye", files=COMPLETE)
    assert ok(resolve(api(cam.token)))["session_id"] == str(older.pk)


def test_register_mode_with_only_complete_or_contraindicated_sessions_is_no_eligible_session(
    cam, register_mode
):
    make_session(cam.subject, hours_ago=30, files=("left_dicom", "right_dicom", "report"))
    make_session(cam.subject, hours_ago=3, contraindicated=True)
    error_of(resolve(api(cam.token)), 400, "no_eligible_session")
    assert CameraSession.objects.count() == 2


def test_register_mode_ignores_another_hospitals_sessions(cam, register_mode):
    make_session(cam.subject, hospital=cam.northgate, hours_ago=1)
    error_of(resolve(api(cam.token)), 404, "no_session")
    foreign = make_session(cam.northgate_subject, hours_ago=1)
    unknown = resolve(api(cam.token), "205-20-0001-9")
    response = resolve(api(cam.token), "205-20-0001-1")
    assert (response.status_code, response.json()["code"]) == (
        unknown.status_code,
        unknown.json()["code"],
    )
    assert ok(resolve(api(cam.other_token), "205-20-0001-1"))["session_id"] == str(foreign.pk)


def test_register_mode_reports_files_already_uploaded(cam, register_mode):
    session = make_session(cam.subject, hours_ago=1)
    add_file(session, "right", "r.jpg")
    add_file(session, "left_dicom", "l.dcm")
    assert ok(resolve(api(cam.token)))["uploaded"] == ["left_dicom", "right"]


def test_register_mode_missing_subject_identifier_is_a_field_error(cam, register_mode):
    response = api(cam.token).post("/api/retinopathy/resolve/", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {"subject_identifier": ["This field is required."]}


def test_register_mode_answers_the_same_session_on_every_resolve(cam, register_mode):
    session = make_session(cam.subject, hours_ago=1)
    client = api(cam.token)
    assert ok(resolve(client))["session_id"] == str(session.pk)
    assert upload(client, "left").status_code == 201
    body = ok(resolve(client))
    assert body["session_id"] == str(session.pk)
    assert body["uploaded"] == ["left"]
    assert CameraSession.objects.count() == 1


# Hostile bodies: one bounded JSON parser (fundushub.lib.jsonbody) answers 400 {"detail": why}.
HOSTILE_BODIES = [
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (b'{"subject_identifier": ' + b'{"a": ' * 40 + b"1" + b"}" * 40 + b"}", "nested too deeply"),
    (b'{"subject_identifier": "105-10-0989-3", "age": 1e999}', "out of range"),
    (b'{"subject_identifier": "105-10-0989-3", "age": 1180591620717411303424}', "out of range"),
    (b'{"subject_identifier": "105-10-0989-3", "age": NaN}', "NaN is not a number"),
    (b'{"subject_identifier": "105-10-0989-3", "age": -Infinity}', "-Infinity is not a number"),
    (b'{"subject_identifier": "105-10-0989-3\\u0000"}', "NUL"),
    (b'{"subject_identifier": "\\ud800"}', "lone surrogate"),
    (b'{"subject_identifier": ', "not valid JSON"),
    (b"\xff\xfe\xfd", "not valid JSON"),
    (b'{"subject_identifier": "' + b"x" * 1_000_001 + b'"}', "too large"),
]


@pytest.mark.parametrize("body, message", HOSTILE_BODIES, ids=[m for _, m in HOSTILE_BODIES])
def test_a_hostile_json_body_is_a_400_that_says_why(cam, body, message):
    response = api(cam.token).post(
        "/api/retinopathy/resolve/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert message in response.json()["detail"]


@pytest.mark.parametrize(
    "body", [b'"105-10-0989-3"', b"null", b"42", b"true"], ids=["string", "null", "number", "bool"]
)
def test_a_json_body_that_is_not_an_object_says_so(cam, body):
    response = api(cam.token).post(
        "/api/retinopathy/resolve/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Send a JSON object."]}


@pytest.mark.parametrize(
    "identifier", [["105-10-0989-3"], {"id": "105-10-0989-3"}], ids=["list", "object"]
)
def test_a_subject_identifier_of_the_wrong_type_is_a_field_error(cam, identifier):
    response = resolve(api(cam.token), identifier)
    assert response.status_code == 400
    assert list(response.json()) == ["subject_identifier"]
