"""POST <subject_identifier>/<file_type>/: every step of the checks table, in order."""

import hashlib
import threading
import uuid
from datetime import datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import resolve as resolve_url
from django.utils import timezone
from rest_framework.test import APIRequestFactory

from fundushub.camera.models import CameraFile, CameraSession, Subject
from fundushub.store import blobs
from tests.camera.conftest import (
    BASE,
    DICOM_HEAD,
    HTML_REPORT,
    PDF_REPORT,
    SENT_AT,
    api,
    content_for,
    make_session,
    resolve,
    sha256,
    staged_leftovers,
    stored_blobs,
    upload,
)
from tests.conftest import fundus_jpeg, fundus_png

SUBJECT = "105-10-0989-3"
FILE_TYPES = ["left", "right", "left_dicom", "right_dicom", "report", "left_report", "right_report"]
BODY_KEYS = {
    "id",
    "session_id",
    "eye_exam_register_id",
    "file_type",
    "original_filename",
    "stored_filename",
    "checksum",
}
MB = 1024 * 1024


@pytest.fixture
def session_id(cam):
    """The session resolve returned for cam.subject (as the field clients do first)."""
    response = resolve(api(cam.token))
    assert response.status_code == 200
    return response.json()["session_id"]


def error_of(response, status_code, code):
    assert response.status_code == status_code, response.content
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["error"], str) and body["error"]
    return body


def field_error(response, field):
    assert response.status_code == 400, response.content
    body = response.json()
    assert "code" not in body, body
    assert field in body, body
    assert isinstance(body[field], list) and body[field]
    assert all(isinstance(m, str) for m in body[field])
    return body


def nothing_kept(media_root):
    assert not CameraFile.objects.exists()
    assert stored_blobs(media_root) == []
    assert staged_leftovers(media_root) == []


# --- success -------------------------------------------------------------------------------------


def test_a_new_file_is_201_with_exactly_the_contract_keys(cam, session_id):
    data = fundus_jpeg(1)
    response = upload(api(cam.token), "left", data, name="IMG_0001.jpg")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == BODY_KEYS | {"checks"}  # ours, optional: test_checks_in_answers.py
    assert body.pop("checks")["state"] == "pending"
    record = CameraFile.objects.get()
    assert body == {
        "id": record.pk,
        "session_id": session_id,
        "eye_exam_register_id": session_id,
        "file_type": "left",
        "original_filename": "IMG_0001.jpg",
        "stored_filename": record.stored_filename,
        "checksum": sha256(data),
    }
    assert str(record.session_id) == session_id
    assert record.file_type == "left" and record.size == len(data)


@pytest.mark.parametrize("file_type", FILE_TYPES)
def test_every_file_type_is_accepted_and_stored_byte_identical(cam, session_id, file_type):
    data = content_for(file_type, seed=7)
    response = upload(api(cam.token), file_type, data, checksum=sha256(data))
    assert response.status_code == 201, response.content
    assert response.json()["file_type"] == file_type
    record = CameraFile.objects.get()
    with blobs.open_blob(record.stored_filename) as f:
        assert f.read() == data


def test_a_png_is_a_valid_eye_image(cam, session_id):
    assert upload(api(cam.token), "right", fundus_png(3), name="right.png").status_code == 201


def test_a_pdf_report_is_accepted(cam, session_id):
    assert upload(api(cam.token), "report", PDF_REPORT, name="report.pdf").status_code == 201


def test_a_large_dicom_is_accepted_under_the_default_limit(cam, session_id, settings):
    assert settings.CAMERA_MAX_UPLOAD_MB >= 64
    data = DICOM_HEAD + bytes(range(256)) * (24 * 1024)  # ~6 MB
    response = upload(api(cam.token), "left_dicom", data, checksum=sha256(data))
    assert response.status_code == 201, response.content
    record = CameraFile.objects.get()
    # received in several pieces, hashed on pool threads: the digests are still the whole file's
    assert (record.sha256, record.md5) == (sha256(data), hashlib.md5(data).hexdigest())
    with blobs.open_blob(record.stored_filename) as f:
        assert f.read() == data


def test_the_parts_filename_basename_becomes_the_original_filename(cam, session_id):
    data = fundus_jpeg(2)
    boundary = "----cameraboundary"
    body = (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="capture_datetime"\r\n\r\n{SENT_AT}\r\n'
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; '
            'filename="C:\\exports\\105-10-0989-3\\left_eye.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = api(cam.token).generic(
        "POST",
        f"{BASE}/{SUBJECT}/left/",
        body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 201, response.content
    assert response.json()["original_filename"] == "left_eye.jpg"
    assert CameraFile.objects.get().original_filename == "left_eye.jpg"


def test_capture_datetime_is_recorded(cam, session_id):
    upload(api(cam.token), "left", capture_datetime="2026-11-21T10:00:00+00:00")
    assert CameraFile.objects.get().capture_datetime == datetime.fromisoformat(
        "2026-11-21T10:00:00+00:00"
    )


def test_capture_datetime_with_z_is_accepted(cam, session_id):
    assert (
        upload(api(cam.token), "left", capture_datetime="2026-11-21T10:00:00Z").status_code == 201
    )


@pytest.mark.parametrize(
    "value",
    [
        "2026-11-21T10:00:00",  # naive, as datetime.now().isoformat() gives
        "2026-11-21T10:00:00.123456",
        "2026-11-21T11:00:00.123+01:00",
        "2026-11-21 10:00:00",
    ],
)
def test_iso_8601_capture_datetimes_as_clients_send_them_are_accepted(cam, session_id, value):
    response = upload(api(cam.token), "left", capture_datetime=value)
    assert response.status_code == 201, response.content
    assert CameraFile.objects.get().capture_datetime.date().isoformat() == "2026-11-21"


def test_a_missing_capture_datetime_defaults_to_the_receive_time(cam, session_id):
    before = timezone.now()
    response = upload(api(cam.token), "left", capture_datetime=None)
    after = timezone.now()
    assert response.status_code == 201, response.content
    assert before <= CameraFile.objects.get().capture_datetime <= after


@pytest.mark.parametrize("param", ["session_id", "eye_exam_register_id"])
def test_the_query_parameter_of_either_generation_selects_the_session(cam, session_id, param):
    other = make_session(cam.subject, device=cam.device, hours_ago=3)
    response = upload(api(cam.token), "left", query=f"{param}={other.pk}")
    assert response.status_code == 201, response.content
    assert response.json()["session_id"] == str(other.pk)
    assert response.json()["eye_exam_register_id"] == str(other.pk)
    assert CameraFile.objects.get().session == other


def test_both_query_parameters_with_the_same_id_are_harmless(cam, session_id):
    other = make_session(cam.subject, device=cam.device, hours_ago=3)
    query = f"session_id={other.pk}&eye_exam_register_id={other.pk}"
    response = upload(api(cam.token), "left", query=query)
    assert response.status_code == 201, response.content
    assert response.json()["session_id"] == str(other.pk)


def test_without_a_query_parameter_the_upload_goes_to_the_session_resolve_returned(cam, session_id):
    """Not to the newest session: a newer one registered later must not capture the file."""
    newer = make_session(cam.subject, device=cam.device)
    CameraSession.objects.filter(pk=newer.pk).update(
        created_at=timezone.now() + timedelta(minutes=5)
    )
    response = upload(api(cam.token), "left")
    assert response.status_code == 201
    assert response.json()["session_id"] == session_id


def test_without_a_query_parameter_the_latest_resolve_decides(cam, session_id):
    client = api(cam.token)
    for file_type in ("left", "right", "report"):
        assert upload(client, file_type).status_code == 201
    second = resolve(client).json()["session_id"]
    assert second != session_id
    response = upload(client, "left", fundus_jpeg(9))
    assert response.json()["session_id"] == second


def test_a_late_jpeg_goes_to_the_completed_session_and_opens_no_new_one(cam, session_id):
    client = api(cam.token)
    for file_type in ("left_dicom", "right_dicom", "report"):
        assert upload(client, file_type).status_code == 201
    response = upload(client, "left", fundus_jpeg(4), name="late.jpg")
    assert response.status_code == 201, response.content
    assert response.json()["session_id"] == session_id
    assert CameraSession.objects.count() == 1


def test_register_mode_upload_without_parameter_goes_to_the_resolved_register(cam, settings):
    settings.CAMERA_API_MODE = "register"
    older = make_session(cam.subject, hours_ago=30)
    make_session(cam.subject, hours_ago=3, files=("left", "right", "report"))
    client = api(cam.token)
    assert resolve(client, device_id="RET-CAM-001").json()["eye_exam_register_id"] == str(older.pk)
    response = upload(client, "left_dicom")
    assert response.status_code == 201
    assert response.json()["eye_exam_register_id"] == str(older.pk)
    assert CameraSession.objects.count() == 2


def test_uploads_never_create_sessions(cam):
    response = upload(api(cam.token), "left")
    error_of(response, 404, "no_session")
    assert not CameraSession.objects.exists()


def test_a_session_nobody_resolved_is_not_used_without_a_query_parameter(cam, isolated_storage):
    make_session(cam.subject, device=cam.device)
    error_of(upload(api(cam.token), "left"), 404, "no_session")
    nothing_kept(isolated_storage)


# --- authentication first -----------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_401_wins_over_a_body_over_the_limit(cam, session_id, settings, token):
    settings.CAMERA_MAX_UPLOAD_MB = 1
    response = upload(api(token), "left", b"\xff\xd8\xff" + b"\0" * (2 * MB))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_401_wins_over_bad_content_a_bad_checksum_and_an_unknown_session(cam, session_id, token):
    response = upload(
        api(token),
        "left",
        b"text",
        checksum="x" * 70,
        query="session_id=nope",
        capture_datetime="?",
    )
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert not CameraFile.objects.exists()


# --- step 1: file type ---------------------------------------------------------------------------


@pytest.mark.parametrize("file_type", ["middle", "LEFT", "left_jpeg", "dicom", "reports"])
def test_an_unknown_file_type_is_invalid_file_type(cam, session_id, file_type):
    error_of(upload(api(cam.token), file_type, fundus_jpeg(1)), 400, "invalid_file_type")
    assert not CameraFile.objects.exists()


def test_invalid_file_type_comes_before_field_errors(cam, session_id):
    response = api(cam.token).post(f"{BASE}/{SUBJECT}/middle/", {}, format="multipart")
    error_of(response, 400, "invalid_file_type")


def test_invalid_file_type_comes_before_no_session(cam):
    error_of(upload(api(cam.token), "middle", subject="999-unknown"), 400, "invalid_file_type")


def test_invalid_file_type_comes_before_file_too_large(cam, session_id, settings):
    settings.CAMERA_MAX_UPLOAD_MB = 1
    response = upload(api(cam.token), "middle", b"\xff\xd8\xff" + b"\0" * (2 * MB))
    error_of(response, 400, "invalid_file_type")


# --- step 2: field errors ------------------------------------------------------------------------


def test_no_file_is_a_field_error(cam, session_id):
    response = api(cam.token).post(
        f"{BASE}/{SUBJECT}/left/", {"capture_datetime": SENT_AT}, format="multipart"
    )
    field_error(response, "file")


def test_an_empty_file_is_a_field_error(cam, session_id, isolated_storage):
    field_error(upload(api(cam.token), "left", b""), "file")
    nothing_kept(isolated_storage)


@pytest.mark.parametrize("value", ["yesterday", "21/11/2026 10:00", "2026-13-45T99:00:00", "0"])
def test_a_bad_capture_datetime_is_a_field_error(cam, session_id, value, isolated_storage):
    field_error(upload(api(cam.token), "left", capture_datetime=value), "capture_datetime")
    nothing_kept(isolated_storage)


def test_a_checksum_longer_than_64_characters_is_a_field_error(cam, session_id, isolated_storage):
    data = fundus_jpeg(1)
    field_error(upload(api(cam.token), "left", data, checksum=sha256(data) + "0"), "checksum")
    nothing_kept(isolated_storage)


def test_several_field_errors_are_reported_together(cam, session_id):
    response = api(cam.token).post(
        f"{BASE}/{SUBJECT}/left/",
        {"capture_datetime": "soon", "checksum": "f" * 65},
        format="multipart",
    )
    body = field_error(response, "file")
    assert {"file", "capture_datetime", "checksum"} <= set(body)


def test_field_errors_come_before_invalid_content(cam, session_id):
    response = upload(api(cam.token), "left", b"plain text", capture_datetime="yesterday")
    field_error(response, "capture_datetime")


def test_field_errors_come_before_no_session(cam):
    response = upload(api(cam.token), "left", b"", subject="999-unknown")
    field_error(response, "file")


def test_field_errors_come_before_a_file_slightly_over_the_limit(cam, session_id, settings):
    settings.CAMERA_MAX_UPLOAD_MB = 1
    data = b"\xff\xd8\xff" + b"\0" * MB
    field_error(upload(api(cam.token), "left", data, capture_datetime="soon"), "capture_datetime")


# --- step 3: size limit --------------------------------------------------------------------------


class ReadSpy:
    """Wraps a request's input stream and counts the bytes the server reads from it."""

    def __init__(self, stream):
        self.stream = stream
        self.bytes_read = 0

    def read(self, *args, **kwargs):
        data = self.stream.read(*args, **kwargs)
        self.bytes_read += len(data)
        return data

    def readline(self, *args, **kwargs):
        data = self.stream.readline(*args, **kwargs)
        self.bytes_read += len(data)
        return data

    def __getattr__(self, name):
        return getattr(self.stream, name)


def test_a_file_over_the_limit_is_refused_before_its_body_is_read(
    cam, session_id, settings, isolated_storage
):
    settings.CAMERA_MAX_UPLOAD_MB = 1
    data = b"\xff\xd8\xff" + bytes(range(256)) * (8 * 1024)  # 2 MB "JPEG"
    url = f"{BASE}/{SUBJECT}/left/"
    request = APIRequestFactory().post(
        url,
        {"file": SimpleUploadedFile("big.jpg", data), "capture_datetime": SENT_AT},
        format="multipart",
        HTTP_AUTHORIZATION=f"Token {cam.token}",
    )
    spy = ReadSpy(request._stream)
    request._stream = spy
    match = resolve_url(url)
    response = match.func(request, *match.args, **match.kwargs)
    response.render()
    assert response.status_code == 400
    assert response.data["code"] == "file_too_large"
    assert spy.bytes_read < 64 * 1024, f"the server read {spy.bytes_read} bytes of the body"
    nothing_kept(isolated_storage)


def test_a_file_over_the_limit_is_file_too_large_through_the_client(
    cam, session_id, settings, isolated_storage
):
    settings.CAMERA_MAX_UPLOAD_MB = 1
    data = b"\xff\xd8\xff" + b"\0" * (2 * MB)
    error_of(upload(api(cam.token), "left", data), 400, "file_too_large")
    nothing_kept(isolated_storage)


def test_a_file_one_byte_over_the_limit_is_file_too_large(
    cam, session_id, settings, isolated_storage
):
    settings.CAMERA_MAX_UPLOAD_MB = 1
    data = b"\xff\xd8\xff" + b"\0" * (MB - 2)
    error_of(upload(api(cam.token), "left", data), 400, "file_too_large")
    nothing_kept(isolated_storage)


def test_a_file_exactly_at_the_limit_passes_the_size_check(cam, session_id, settings):
    settings.CAMERA_MAX_UPLOAD_MB = 1
    data = DICOM_HEAD + b"\0" * (MB - len(DICOM_HEAD))
    assert len(data) == MB
    assert upload(api(cam.token), "left_dicom", data).status_code == 201


def test_file_too_large_comes_before_invalid_content(cam, session_id, settings):
    settings.CAMERA_MAX_UPLOAD_MB = 1
    error_of(upload(api(cam.token), "left", b"text " * (MB // 2)), 400, "file_too_large")


def test_file_too_large_comes_before_no_session(cam, settings):
    settings.CAMERA_MAX_UPLOAD_MB = 1
    data = b"\xff\xd8\xff" + b"\0" * (2 * MB)
    error_of(upload(api(cam.token), "left", data, subject="999-unknown"), 400, "file_too_large")


# --- step 4: content -----------------------------------------------------------------------------

NOT_AN_IMAGE = [
    b"just some text, not an image\n",
    PDF_REPORT,
    HTML_REPORT,
    DICOM_HEAD,
    b"GIF89a" + b"\0" * 64,
    b"BM" + b"\0" * 64,
    b"II*\x00" + b"\0" * 64,
]


@pytest.mark.parametrize("file_type", ["left", "right"])
@pytest.mark.parametrize("data", NOT_AN_IMAGE, ids=range(len(NOT_AN_IMAGE)))
def test_an_eye_image_needs_jpeg_or_png_magic(cam, session_id, file_type, data, isolated_storage):
    error_of(upload(api(cam.token), file_type, data, name="x.jpg"), 400, "invalid_content")
    nothing_kept(isolated_storage)


NOT_A_DICOM = [
    fundus_jpeg(1),
    b"DICM" + b"\0" * 200,  # at byte 0, not 128
    b"\0" * 129 + b"DICM" + b"\0" * 64,  # at byte 129
    b"\0" * 128 + b"DIC",  # too short
    PDF_REPORT,
    b"\0" * 512,
]


@pytest.mark.parametrize("file_type", ["left_dicom", "right_dicom"])
@pytest.mark.parametrize("data", NOT_A_DICOM, ids=range(len(NOT_A_DICOM)))
def test_a_dicom_needs_dicm_at_byte_128(cam, session_id, file_type, data, isolated_storage):
    error_of(upload(api(cam.token), file_type, data, name="x.dcm"), 400, "invalid_content")
    nothing_kept(isolated_storage)


NOT_A_REPORT = [
    fundus_jpeg(1),
    fundus_png(1),
    DICOM_HEAD,
    b"Fundus report: both eyes normal\n",
    b"\0" * 64,
    b"<div>report</div>",
    b"<?xml version='1.0'?><report/>",
]


@pytest.mark.parametrize("file_type", ["report", "left_report", "right_report"])
@pytest.mark.parametrize("data", NOT_A_REPORT, ids=range(len(NOT_A_REPORT)))
def test_a_report_needs_pdf_or_html(cam, session_id, file_type, data, isolated_storage):
    error_of(upload(api(cam.token), file_type, data, name="r.html"), 400, "invalid_content")
    nothing_kept(isolated_storage)


VALID_REPORTS = [
    PDF_REPORT,
    HTML_REPORT,
    b"<html><body>r</body></html>",
    b"<!DOCTYPE HTML PUBLIC '-//W3C//DTD HTML 4.01//EN'><HTML><BODY>r</BODY></HTML>",
    b"\xef\xbb\xbf<!DOCTYPE html><html><body>r</body></html>",
    b"\r\n\t  \n<!doctype html><html><body>r</body></html>",
    b'<?xml version="1.0" encoding="UTF-8"?>\n<html><body>r</body></html>',
    b"<!-- generated by the camera -->\n<html><body>r</body></html>",
    b"<!-- a --><!-- b -->\n<!DOCTYPE html><html></html>",
    b'<meta charset="utf-8"><title>Report</title><p>r</p>',
    b'\xef\xbb\xbf \n<?xml version="1.0"?>\n<!-- c -->\n<!DOCTYPE html>\n<html></html>',
]


@pytest.mark.parametrize("data", VALID_REPORTS, ids=range(len(VALID_REPORTS)))
@pytest.mark.parametrize("file_type", ["report", "left_report", "right_report"])
def test_pdf_and_html_reports_are_accepted(cam, session_id, file_type, data):
    response = upload(api(cam.token), file_type, data, name="report.html")
    assert response.status_code == 201, response.content


def test_invalid_content_comes_before_no_session(cam):
    error_of(upload(api(cam.token), "left", b"text", subject="999-unknown"), 400, "invalid_content")


# --- step 5: the session -------------------------------------------------------------------------


def test_an_unregistered_subject_is_no_session(cam, isolated_storage):
    error_of(upload(api(cam.token), "left", subject="999-99-9999-9"), 404, "no_session")
    nothing_kept(isolated_storage)


def test_a_registered_subject_without_any_session_is_no_session(cam, isolated_storage):
    error_of(upload(api(cam.token), "left"), 404, "no_session")
    nothing_kept(isolated_storage)


@pytest.mark.parametrize("param", ["session_id", "eye_exam_register_id"])
def test_the_session_of_another_subject_is_no_session(cam, session_id, param, isolated_storage):
    Subject.objects.create(
        subject_identifier="105-10-0990-1", initials="AN", sex="F", site=cam.st_lucia
    )
    other = resolve(api(cam.token), "105-10-0990-1").json()["session_id"]
    response = upload(api(cam.token), "left", query=f"{param}={other}")
    error_of(response, 404, "no_session")
    nothing_kept(isolated_storage)


@pytest.mark.parametrize("param", ["session_id", "eye_exam_register_id"])
@pytest.mark.parametrize(
    "value", ["abc", "1", "42", "0", "-1", "'; drop table x; --", "%00", "1.5", "[]"]
)
def test_a_malformed_session_id_is_404_never_500(cam, session_id, param, value, isolated_storage):
    response = upload(api(cam.token), "left", query=f"{param}={value}")
    error_of(response, 404, "no_session")
    nothing_kept(isolated_storage)


def test_an_unknown_session_uuid_is_no_session(cam, session_id):
    response = upload(api(cam.token), "left", query=f"session_id={uuid.uuid4()}")
    error_of(response, 404, "no_session")


def test_another_hospitals_session_id_is_404(cam, session_id, isolated_storage):
    foreign = resolve(api(cam.other_token), "205-20-0001-1").json()["session_id"]
    for subject in ("205-20-0001-1", SUBJECT):
        for param in ("session_id", "eye_exam_register_id"):
            response = upload(api(cam.token), "left", subject=subject, query=f"{param}={foreign}")
            error_of(response, 404, "no_session")
    nothing_kept(isolated_storage)


def test_another_hospitals_device_cannot_upload_to_this_hospitals_subject(cam, session_id):
    client = api(cam.other_token)
    error_of(upload(client, "left"), 404, "no_session")
    error_of(upload(client, "left", query=f"session_id={session_id}"), 404, "no_session")
    assert not CameraFile.objects.exists()


def test_another_hospitals_subject_is_indistinguishable_from_an_unknown_one(cam):
    resolve(api(cam.other_token), "205-20-0001-1")
    foreign = upload(api(cam.token), "left", subject="205-20-0001-1")
    unknown = upload(api(cam.token), "left", subject="205-20-0001-9")
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json() == unknown.json()


def test_no_session_comes_before_a_wrong_checksum(cam):
    response = upload(api(cam.token), "left", checksum="0" * 64, subject="999-unknown")
    error_of(response, 404, "no_session")


# --- step 6: same name again ---------------------------------------------------------------------


def test_an_identical_re_upload_is_200_with_the_existing_record(cam, session_id, isolated_storage):
    client = api(cam.token)
    data = fundus_jpeg(5)
    first = upload(client, "left", data, checksum=sha256(data))
    second = upload(client, "left", data, checksum=sha256(data))
    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json() == first.json()
    assert CameraFile.objects.count() == 1
    assert len(stored_blobs(isolated_storage)) == 1
    assert staged_leftovers(isolated_storage) == []


def test_an_identical_re_upload_without_a_query_parameter_after_completion_is_200(cam, session_id):
    client = api(cam.token)
    for file_type in ("left", "right", "report"):
        assert upload(client, file_type).status_code == 201
    again = upload(client, "report")
    assert again.status_code == 200
    assert again.json()["session_id"] == session_id


def test_same_name_different_bytes_is_a_filename_conflict(cam, session_id, isolated_storage):
    client = api(cam.token)
    first_bytes = fundus_jpeg(5)
    first = upload(client, "left", first_bytes, name="eye.jpg").json()
    response = upload(client, "left", fundus_jpeg(6), name="eye.jpg")
    error_of(response, 409, "filename_conflict")
    record = CameraFile.objects.get()
    assert record.pk == first["id"] and record.sha256 == sha256(first_bytes)
    with blobs.open_blob(record.stored_filename) as f:
        assert f.read() == first_bytes
    assert len(stored_blobs(isolated_storage)) == 1
    assert staged_leftovers(isolated_storage) == []


def test_filename_conflict_comes_before_a_wrong_checksum(cam, session_id):
    client = api(cam.token)
    upload(client, "left", fundus_jpeg(5), name="eye.jpg")
    response = upload(client, "left", fundus_jpeg(6), name="eye.jpg", checksum="0" * 64)
    error_of(response, 409, "filename_conflict")


def test_the_same_bytes_under_another_name_is_a_new_file_sharing_one_blob(
    cam, session_id, isolated_storage
):
    client = api(cam.token)
    data = fundus_jpeg(5)
    a = upload(client, "left", data, name="a.jpg")
    b = upload(client, "left", data, name="b.jpg")
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["id"] != b.json()["id"]
    assert a.json()["stored_filename"] == b.json()["stored_filename"]
    assert len(stored_blobs(isolated_storage)) == 1


def test_the_same_name_in_another_session_is_a_new_file(cam, session_id):
    other = make_session(cam.subject, device=cam.device, hours_ago=2)
    client = api(cam.token)
    assert upload(client, "left", fundus_jpeg(5)).status_code == 201
    response = upload(client, "left", fundus_jpeg(6), query=f"session_id={other.pk}")
    assert response.status_code == 201
    assert CameraFile.objects.count() == 2


# --- step 7: storage failure ---------------------------------------------------------------------


def test_a_storage_failure_is_500_storage_error_and_nothing_half_written_remains(
    cam, session_id, isolated_storage, monkeypatch
):
    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(blobs, "move_into_place", broken)
    data = fundus_jpeg(8)
    response = upload(api(cam.token), "left", data, checksum=sha256(data))
    error_of(response, 500, "storage_error")
    nothing_kept(isolated_storage)
    monkeypatch.undo()
    assert upload(api(cam.token), "left", data, checksum=sha256(data)).status_code == 201


# --- step 8: checksum ----------------------------------------------------------------------------


def test_a_correct_lower_case_checksum_is_accepted(cam, session_id):
    data = fundus_jpeg(1)
    response = upload(api(cam.token), "left", data, checksum=sha256(data))
    assert response.status_code == 201
    assert response.json()["checksum"] == sha256(data)


def test_an_upper_case_checksum_is_accepted(cam, session_id):
    data = fundus_jpeg(1)
    response = upload(api(cam.token), "left", data, checksum=sha256(data).upper())
    assert response.status_code == 201, response.content
    assert response.json()["checksum"] == sha256(data)


def test_an_absent_checksum_is_accepted_and_the_server_computes_it(cam, session_id):
    data = fundus_dicom = DICOM_HEAD + b"pixels"
    response = upload(api(cam.token), "left_dicom", fundus_dicom)
    assert response.status_code == 201
    assert response.json()["checksum"] == hashlib.sha256(data).hexdigest()


def test_an_empty_checksum_counts_as_absent(cam, session_id):
    assert upload(api(cam.token), "left", checksum="").status_code == 201


@pytest.mark.parametrize("wrong", ["0" * 64, "abc", "md5:d41d8cd98f00b204e9800998ecf8427e"])
def test_a_wrong_checksum_is_checksum_mismatch_and_nothing_is_kept(
    cam, session_id, wrong, isolated_storage
):
    data = fundus_jpeg(1)
    error_of(upload(api(cam.token), "left", data, checksum=wrong), 400, "checksum_mismatch")
    nothing_kept(isolated_storage)
    assert not blobs.exists(blobs.original_key(sha256(data)))


def test_after_a_checksum_mismatch_the_file_can_be_sent_again(cam, session_id):
    data = fundus_jpeg(1)
    client = api(cam.token)
    error_of(upload(client, "left", data, checksum=sha256(b"other")), 400, "checksum_mismatch")
    assert upload(client, "left", data, checksum=sha256(data)).status_code == 201


def test_a_checksum_of_other_bytes_already_stored_keeps_the_stored_blob(
    cam, session_id, isolated_storage
):
    """A mismatch must not delete a blob that other records already use."""
    client = api(cam.token)
    data = fundus_jpeg(1)
    assert upload(client, "left", data, name="a.jpg").status_code == 201
    response = upload(client, "left", data, name="b.jpg", checksum=sha256(b"other"))
    error_of(response, 400, "checksum_mismatch")
    assert CameraFile.objects.count() == 1
    with blobs.open_blob(blobs.original_key(sha256(data))) as f:
        assert f.read() == data


# --- the race ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_identical_uploads_racing_give_one_201_one_200_and_one_file(cam, isolated_storage):
    session_id = resolve(api(cam.token)).json()["session_id"]
    for round_ in range(4):
        data = fundus_jpeg(20 + round_)
        name = f"race-{round_}.jpg"
        barrier = threading.Barrier(2)
        results, errors = [], []

        def send(data=data, name=name, barrier=barrier, results=results, errors=errors):
            try:
                client = api(cam.token)
                barrier.wait()
                results.append(upload(client, "left", data, name=name, checksum=sha256(data)))
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)
            finally:
                connection.close()

        threads = [threading.Thread(target=send) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        codes = sorted(r.status_code for r in results)
        assert codes == [200, 201], [r.content for r in results]
        assert results[0].json()["id"] == results[1].json()["id"]
        assert CameraFile.objects.filter(original_filename=name).count() == 1
        assert str(CameraFile.objects.get(original_filename=name).session_id) == session_id
    assert staged_leftovers(isolated_storage) == []
    assert len(stored_blobs(isolated_storage)) == 4


@pytest.mark.django_db(transaction=True)
def test_a_forced_race_past_the_duplicate_check_still_gives_one_201_and_one_200(
    cam, isolated_storage, monkeypatch
):
    """Both requests pass the "is it already there?" look-up before either inserts its row
    (white-box: holds both threads right after the server's first look-up)."""
    from fundushub.camera import files

    real = files.existing_outcome
    barrier = threading.Barrier(2)
    seen = threading.local()

    def held(session, staged):
        outcome = real(session, staged)
        if not getattr(seen, "done", False):
            seen.done = True
            barrier.wait(30)
        return outcome

    monkeypatch.setattr(files, "existing_outcome", held)
    resolve(api(cam.token))
    data = fundus_jpeg(31)
    results, errors = [], []

    def send():
        try:
            results.append(upload(api(cam.token), "left", data, checksum=sha256(data)))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(r.status_code for r in results) == [200, 201], [r.content for r in results]
    assert results[0].json() == results[1].json()
    assert CameraFile.objects.count() == 1
    assert staged_leftovers(isolated_storage) == []
    with blobs.open_blob(blobs.original_key(sha256(data))) as f:
        assert f.read() == data


def test_a_malformed_content_length_is_not_a_server_error(cam):
    from tests.camera.conftest import api as _api

    client = _api(cam.token)
    response = client.post(
        f"/api/retinopathy/{cam.subject.subject_identifier}/left/",
        {},
        format="multipart",
        CONTENT_LENGTH="twelve",
    )
    assert response.status_code < 500
