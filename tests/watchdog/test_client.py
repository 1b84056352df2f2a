import hashlib
import os
import threading
from datetime import datetime

import pytest

from fundus_watchdog.client import CameraApi, capture_datetime, sha256_of
from fundus_watchdog.errors import ApiError, advice, parse_retry_after

from .conftest import SUBJECT

JPEG = b"\xff\xd8\xff\xe0" + b"jpeg body" * 100


class RecordedWaits(threading.Event):
    """Stands in for the stop event: records each backoff wait instead of sleeping through it."""

    def __init__(self):
        super().__init__()
        self.waits = []

    def wait(self, timeout=None):
        self.waits.append(timeout)
        return False


@pytest.fixture
def waits():
    return RecordedWaits()


@pytest.fixture
def make_api(waits):
    apis = []

    def make(server, **kwargs):
        options = {
            "timeout": 2,
            "retries": 3,
            "retry_delay": 5,
            "max_retry_delay": 60,
            "stop_event": waits,
        } | kwargs
        api = CameraApi(
            server.url if hasattr(server, "url") else server,
            getattr(server, "token", "t"),
            **options,
        )
        apis.append(api)
        return api

    yield make
    for api in apis:
        api.close()


@pytest.fixture
def jpeg(tmp_path):
    path = tmp_path / "a1b2c3d4.jpg"
    path.write_bytes(JPEG)
    return path


def test_ping_answers_ok(stub, make_api):
    assert make_api(stub).ping() == {"status": "ok"}


def test_resolve_reads_the_older_servers_integer_session_id(stub, make_api):
    stub.register(SUBJECT, "AB", "M", 54)
    session = make_api(stub).resolve(
        SUBJECT, initials="AB", sex="M", age=54, device_id="RET-CAM-001", site_id="40"
    )
    assert session.id == "1" and session.uploaded == []
    sent = stub.requests[-1]["json"]
    assert sent == {
        "subject_identifier": SUBJECT,
        "initials": "AB",
        "sex": "M",
        "age": 54,
        "device_id": "RET-CAM-001",
        "site_id": "40",
    }


def test_resolve_reads_the_newer_servers_eye_exam_register_id(newer_stub, make_api):
    register = newer_stub.add_register(SUBJECT)
    session = make_api(newer_stub).resolve(
        SUBJECT, device_id="RET-CAM-001", site_id="", initials=None
    )
    assert session.id == register.id
    assert newer_stub.requests[-1]["json"] == {
        "subject_identifier": SUBJECT,
        "device_id": "RET-CAM-001",
    }


def test_uploads_name_the_session_both_ways_with_capture_time_and_checksum(stub, make_api, jpeg):
    stub.register(SUBJECT)
    api = make_api(stub)
    session = api.resolve(SUBJECT)
    os.utime(jpeg, (1_700_000_000, 1_700_000_000))
    checksum = sha256_of(jpeg)
    status, body = api.upload(SUBJECT, "left", jpeg, session_id=session.id, checksum=checksum)
    assert status == 201 and body["checksum"] == checksum
    upload = stub.uploads()[-1]
    assert upload["query"] == {"session_id": ["1"], "eye_exam_register_id": ["1"]}
    assert (
        upload["fields"]["checksum"]
        == checksum
        == checksum.lower()
        == hashlib.sha256(JPEG).hexdigest()
    )
    assert datetime.fromisoformat(upload["fields"]["capture_datetime"]).timestamp() == 1_700_000_000
    assert upload["fields"]["capture_datetime"] == capture_datetime(jpeg)
    assert upload["filename"] == "a1b2c3d4.jpg"
    # Streamed from disk with a known length, not chunked and not built in memory by requests.
    assert not upload["chunked"] and int(upload["content_length"]) > len(JPEG)


def test_an_identical_re_upload_is_answered_200_and_stored_once(stub, make_api, jpeg):
    stub.register(SUBJECT)
    api = make_api(stub)
    session = api.resolve(SUBJECT)
    first = api.upload(SUBJECT, "left", jpeg, session_id=session.id, checksum=sha256_of(jpeg))
    again = api.upload(SUBJECT, "left", jpeg, session_id=session.id, checksum=sha256_of(jpeg))
    assert (first[0], again[0]) == (201, 200)
    assert len(stub.created) == 1


def test_status_reports_completeness(newer_stub, make_api, jpeg):
    register = newer_stub.add_register(SUBJECT)
    api = make_api(newer_stub)
    api.upload(SUBJECT, "left", jpeg, session_id=register.id, checksum=sha256_of(jpeg))
    status = api.status(SUBJECT, register.id)
    assert (status.complete, status.uploaded, status.missing) == (
        False,
        ["left"],
        ["report", "right_dicom"],
    )
    assert newer_stub.requests[-1]["query"]["eye_exam_register_id"] == [register.id]


def test_status_says_which_register_it_describes_and_1_4_0_names_the_newest(
    stub_1_4_0, make_api, jpeg
):
    older = stub_1_4_0.add_register(SUBJECT, created=1000.0)
    newer = stub_1_4_0.add_register(SUBJECT, contraindicated=True, created=2000.0)
    api = make_api(stub_1_4_0)
    status_code, body = api.upload(
        SUBJECT, "left", jpeg, session_id=older.id, checksum=sha256_of(jpeg)
    )
    assert status_code == 201 and body["eye_exam_register_id"] == older.id
    status = api.status(SUBJECT, older.id)
    assert status.session_id == newer.id and status.uploaded == []
    assert status.describes_another_than(older.id)
    assert not status.describes_another_than(newer.id.upper())  # ids compare case-blind


def test_a_wrong_token_is_not_retried_and_says_so(stub, make_api, waits):
    api = make_api(stub)
    stub.token = "the server's token is another one"
    with pytest.raises(ApiError) as info:
        api.ping()
    assert (info.value.status, info.value.code, info.value.message) == (
        401,
        "unauthorized",
        "Invalid token.",
    )
    assert waits.waits == []
    assert "rejected the token" in advice(info.value, SUBJECT, stub.url)


@pytest.mark.parametrize(
    "body, code, message",
    [
        (
            {"code": "subject_not_found", "error": "Subject not found."},
            "subject_not_found",
            "Subject not found.",
        ),
        ({"detail": "Not allowed."}, None, "Not allowed."),
        (
            {"subject_identifier": ["This field is required."]},
            None,
            "subject_identifier: This field is required.",
        ),
    ],
)
def test_all_three_error_body_shapes_are_read(stub, make_api, body, code, message):
    stub.fail("resolve", status=400, body=body)
    with pytest.raises(ApiError) as info:
        make_api(stub).resolve(SUBJECT)
    assert (info.value.status, info.value.code, info.value.message) == (400, code, message)


def test_validation_details_reach_the_operator(stub, make_api):
    stub.register(SUBJECT, "AB", "M", 54)
    with pytest.raises(ApiError) as info:
        make_api(stub).resolve(SUBJECT, initials="XY", sex="F", age=54)
    text = advice(info.value, SUBJECT, stub.url)
    assert "do not match" in text and "initials; sex" in text


def test_server_errors_are_retried_with_growing_jittered_delays(stub, make_api, waits):
    stub.fail("ping", times=2, status=503)
    assert make_api(stub).ping() == {"status": "ok"}
    assert len(waits.waits) == 2
    assert 4 <= waits.waits[0] <= 6 and 8 <= waits.waits[1] <= 12  # 5 s as documented, then doubled


def test_a_server_that_keeps_failing_gives_up_after_the_documented_three_attempts(
    stub, make_api, waits
):
    stub.down = True
    with pytest.raises(ApiError) as info:
        make_api(stub).ping()
    assert info.value.status == 503 and info.value.transient
    assert len(waits.waits) == 2


def test_429_waits_at_least_what_retry_after_asks(stub, make_api, waits):
    stub.fail("ping", status=429, retry_after="30", body={"detail": "Request was throttled."})
    make_api(stub).ping()
    assert waits.waits == [30.0]


def test_a_very_long_retry_after_is_left_to_the_next_attempt_of_the_subject(stub, make_api, waits):
    stub.fail("ping", status=503, retry_after="3600")
    with pytest.raises(ApiError) as info:
        make_api(stub).ping()
    assert info.value.retry_after == 3600 and waits.waits == []


def test_timeouts_are_retried(stub, make_api, waits):
    stub.fail("ping", hang=1.0)
    assert make_api(stub, timeout=0.2).ping() == {"status": "ok"}
    assert len(waits.waits) == 1


def test_an_upload_whose_answer_was_lost_is_retried_without_a_duplicate(stub, make_api, jpeg):
    stub.register(SUBJECT)
    api = make_api(stub, timeout=0.3)
    session = api.resolve(SUBJECT)
    stub.fail("/left/", hang=1.0, after_store=True)
    status, _ = api.upload(SUBJECT, "left", jpeg, session_id=session.id, checksum=sha256_of(jpeg))
    assert status == 200  # the second attempt finds the bytes already there
    assert len(stub.created) == 1 and len(stub.uploads()) == 2


def test_an_unreachable_server_is_a_transient_error_without_status(make_api, waits):
    with pytest.raises(ApiError) as info:
        make_api("http://127.0.0.1:9", timeout=0.5).ping()
    assert info.value.status is None and info.value.transient
    assert len(waits.waits) == 2
    assert "cannot reach the server" in advice(info.value, SUBJECT, "http://127.0.0.1:9")


@pytest.mark.parametrize(
    "code", ["filename_conflict", "invalid_content", "file_too_large", "invalid_file_type"]
)
def test_permanent_per_file_errors_are_not_retried(stub, make_api, waits, jpeg, code):
    stub.register(SUBJECT)
    api = make_api(stub)
    session = api.resolve(SUBJECT)
    stub.fail(
        "/left/",
        status=409 if code == "filename_conflict" else 400,
        body={"code": code, "error": "no"},
    )
    with pytest.raises(ApiError) as info:
        api.upload(SUBJECT, "left", jpeg, session_id=session.id, checksum=sha256_of(jpeg))
    assert info.value.permanent_for_file and not info.value.transient
    assert waits.waits == []


def test_a_server_that_is_not_a_camera_api_gives_a_short_message(stub, make_api):
    stub.fail("ping", status=404, body={"detail": "Not found."})
    with pytest.raises(ApiError) as info:
        make_api(stub).ping()
    assert "check api_url" in advice(info.value, SUBJECT, stub.url)


def test_retry_after_may_be_an_http_date():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412480) == 30
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_backoff_doubles_up_to_the_cap_with_jitter(make_api):
    api = make_api("http://127.0.0.1:9")
    for attempt, base in [(1, 5), (2, 10), (3, 20), (4, 40), (5, 60), (9, 60)]:
        delays = [api.backoff(attempt, None) for _ in range(50)]
        assert all(0.8 * base <= d <= 1.2 * base for d in delays)
        assert len(set(delays)) > 1  # jittered: clients that failed together do not retry together
    assert api.backoff(1, 42) == 42


def test_the_checksum_is_lower_case_sha256_read_in_blocks(tmp_path):
    path = tmp_path / "big.dcm"
    data = os.urandom(3 * 1024 * 1024 + 7)
    path.write_bytes(data)
    assert sha256_of(path, block=65536) == hashlib.sha256(data).hexdigest()
