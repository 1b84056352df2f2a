"""LOG_FORMAT=json: a JSON line per request and per item state change, a request id that follows
the request, and no token, password or cookie in any line."""

import io
import json
import logging
import os
import subprocess
import sys

import pytest
from django.contrib.auth.signals import user_logged_in
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.signals import request_started
from django.utils.module_loading import import_string

from fundushub.accounts import roles
from fundushub.lib.jsonlog import REDACTED, JsonFormatter
from fundushub.uploads.models import ItemState, UploadItem, UploadJob
from tests.camera import conftest as camera_world
from tests.camera.conftest import api, resolve, status, upload
from tests.conftest import form_data, fundus_jpeg, make_user, run_worker

CAMERA_STATUS = "/api/retinopathy/<str:subject_identifier>/status/"
IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
PASSWORD = "Correct-Horse-7781"
WRONG_PASSWORD = "Wrong-Battery-5512"
cam = camera_world.cam  # the camera tests' world (a device with a token), used here too


@pytest.fixture
def lines(settings):
    """The console handler as settings.LOGGING builds it (its filters), writing JSON to a buffer;
    returns a function giving every line written so far, each parsed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    for name in settings.LOGGING["handlers"]["console"]["filters"]:
        handler.addFilter(import_string(settings.LOGGING["filters"][name]["()"])())
    root = logging.getLogger()
    loggers = [root, logging.getLogger("fundushub.requests"), logging.getLogger("fundushub.states")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.INFO)
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.fixture
def careless_logging():
    """Code that logs what it should not: every request's WSGI environ (its Authorization and
    Cookie headers), and a sign-in's POST data (its password). The filter must hide them."""
    careless = logging.getLogger("tests.careless")

    def log_environ(sender, environ, **kwargs):
        headers = {k: v for k, v in environ.items() if k.startswith("HTTP_")}
        careless.warning("request headers %s", headers, extra={"headers": headers})

    def log_sign_in(sender, request, user, **kwargs):
        careless.warning("signed in with %s", request.POST)

    request_started.connect(log_environ)
    user_logged_in.connect(log_sign_in)
    yield
    request_started.disconnect(log_environ)
    user_logged_in.disconnect(log_sign_in)


def request_lines(all_lines):
    return [line for line in all_lines if line.get("event") == "request"]


def state_lines(all_lines, kind):
    return [line for line in all_lines if line.get("event") == "state" and line["kind"] == kind]


def test_a_line_is_one_json_object_with_time_level_logger_message_and_extras(lines):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("fundushub.x").exception("it %s", "broke", extra={"job_id": "j1"})
    (line,) = lines()
    assert line["level"] == "ERROR" and line["logger"] == "fundushub.x"
    assert line["message"] == "it broke" and line["job_id"] == "j1"
    assert line["time"].endswith("+00:00") and "ValueError: boom" in line["exc"]


def test_a_request_line_names_route_pattern_user_method_status_and_duration(cam, lines):
    client = api(cam.token)
    resolve(client)
    response = status(client)
    line = request_lines(lines())[-1]
    assert line["route"] == CAMERA_STATUS and line["view"] == "camera:status"
    assert "105-10-0989-3" not in json.dumps(line)  # the raw path names a subject
    assert line["method"] == "GET" and line["status"] == response.status_code == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["device"] == "RET-CAM-001"
    assert line["request_id"] == response["X-Request-ID"]


def test_a_signed_in_users_request_names_them_and_an_anonymous_one_names_nobody(
    client, world, lines
):
    client.force_login(world.alice)
    client.get("/direct/upload")
    client.logout()
    client.get("/accounts/login/")
    signed_in, anonymous = [line for line in request_lines(lines()) if line["method"] == "GET"]
    assert signed_in["user"] == {"id": world.alice.pk, "username": "alice"}
    assert signed_in["route"] == "/direct/upload"
    assert anonymous["user"] is None and anonymous["route"] == "/accounts/login/"


def test_djangos_own_line_about_a_refused_request_carries_its_request_id(client, db, lines):
    response = client.get("/no/such/page/42")
    (not_found,) = [line for line in lines() if line["logger"] == "django.request"]
    assert response.status_code == 404 and not_found["status_code"] == 404
    assert not_found["request_id"] == response["X-Request-ID"]
    assert request_lines(lines())[0]["route"] is None  # an unresolved path is not written


def test_every_response_gets_a_fresh_request_id_that_its_line_carries(client, db, lines):
    first, second = client.get("/accounts/login/"), client.get("/accounts/login/")
    ids = [line["request_id"] for line in request_lines(lines())]
    assert ids == [first["X-Request-ID"], second["X-Request-ID"]]
    assert len(set(ids)) == 2


def test_a_trusted_proxys_request_id_is_kept(client, db, settings, lines):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    response = client.get(
        "/accounts/login/", REMOTE_ADDR="10.0.0.5", HTTP_X_REQUEST_ID="edge-7f3a:42"
    )
    assert response["X-Request-ID"] == "edge-7f3a:42"
    assert request_lines(lines())[0]["request_id"] == "edge-7f3a:42"


@pytest.mark.parametrize(
    "peer, inbound",
    [
        ("198.51.100.9", "edge-7f3a:42"),  # not a proxy we trust: it could choose any id
        ("10.0.0.5", "two words"),  # trusted, but not an id
        ("10.0.0.5", "x" * 129),
    ],
)
def test_any_other_inbound_request_id_is_replaced(client, db, settings, lines, peer, inbound):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    response = client.get("/accounts/login/", REMOTE_ADDR=peer, HTTP_X_REQUEST_ID=inbound)
    assert response["X-Request-ID"] != inbound and len(response["X-Request-ID"]) == 32
    assert request_lines(lines())[0]["request_id"] == response["X-Request-ID"]


@pytest.mark.django_db(transaction=True)
def test_a_camera_image_processed_in_the_request_logs_its_states_with_the_request_id(
    cam, settings, lines, careless_logging
):
    settings.TASKS = IMMEDIATE_TASKS
    client = api(cam.token)
    resolve(client)
    response = upload(client, "left")
    assert response.status_code == 201, response.content
    all_lines = lines()
    upload_line = request_lines(all_lines)[-1]
    assert upload_line["request_id"] == response["X-Request-ID"]
    assert upload_line["route"] == "/api/retinopathy/<str:subject_identifier>/<str:file_type>/"
    (stored,) = state_lines(all_lines, "camera_image")
    assert stored["state"] == "stored" and stored["file_id"] == response.json()["id"]
    assert stored["session_id"] and stored["request_id"] == response["X-Request-ID"]
    assert_secrets_absent(all_lines, cam.token)


@pytest.mark.django_db(transaction=True)
def test_upload_items_processed_in_the_request_log_each_state_with_job_and_item_ids(
    client, world, settings, lines
):
    settings.TASKS = IMMEDIATE_TASKS
    client.force_login(world.alice)
    jpg = SimpleUploadedFile("a.jpg", fundus_jpeg(1), "image/jpeg")
    response = client.post("/direct/upload", {**form_data(world), "files": [jpg]})
    item = UploadItem.objects.get()
    assert item.state == ItemState.COMPLETED
    states = state_lines(lines(), "upload_item")
    assert [line["state"] for line in states] == ["processing", "completed"]
    for line in states:
        assert line["job_id"] == str(item.job_id) and line["item_id"] == item.pk
        assert line["attempt"] == 1 and line["request_id"] == response["X-Request-ID"]


def test_a_worker_logs_item_states_without_a_request_id(
    client, world, lines, django_capture_on_commit_callbacks
):
    client.force_login(world.alice)
    jpg = SimpleUploadedFile("a.jpg", fundus_jpeg(2), "image/jpeg")
    client.post("/direct/upload", {**form_data(world), "files": [jpg]})
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    job = UploadJob.objects.get()
    states = state_lines(lines(), "upload_item")
    assert [line["state"] for line in states] == ["processing", "completed"]
    assert all(line["job_id"] == str(job.id) and "request_id" not in line for line in states)


def test_a_password_sent_to_sign_in_appears_in_no_line(client, world, lines, careless_logging):
    make_user("carol", roles.UPLOADER, [world.retina], password=PASSWORD)
    client.post("/accounts/login/", {"username": "carol", "password": WRONG_PASSWORD})
    client.post("/accounts/login/", {"username": "carol", "password": PASSWORD})
    client.get("/direct/upload")  # sends the session and CSRF cookies
    all_lines = lines()
    assert any(line["logger"] == "tests.careless" for line in all_lines)
    assert request_lines(all_lines)[1]["user"]["username"] == "carol"
    assert_secrets_absent(all_lines, PASSWORD, WRONG_PASSWORD, client.cookies["sessionid"].value)


def test_secrets_in_messages_extras_and_tracebacks_are_redacted(lines):
    log = logging.getLogger("fundushub.x")
    log.warning("Authorization: Token abcdef123456 and url ?token=qwerty99&x=1")
    log.warning("form %s", {"username": "carol", "password": ["hunter2-secret"]})
    log.warning("cookie", extra={"meta": {"HTTP_COOKIE": "sessionid=s3ss10n", "ok": "kept"}})
    try:
        raise RuntimeError("connect failed: password=db-pass-42")
    except RuntimeError:
        log.exception("database")
    text = "\n".join(json.dumps(line) for line in lines())
    for secret in ("abcdef123456", "qwerty99", "hunter2-secret", "s3ss10n", "db-pass-42"):
        assert secret not in text
    assert REDACTED in text and "kept" in text and "carol" in text


def test_the_default_format_stays_plain_and_json_is_chosen_from_the_environment(tmp_path):
    from django.conf import settings

    assert settings.LOG_FORMAT == "plain"
    program = (
        "import django, logging; django.setup(); "
        "logging.getLogger('fundushub.states').info('hello', extra={'token': 'tok-5512'})"
    )
    env = {**os.environ, "FUNDUSHUB_DATA_DIR": str(tmp_path), "LOG_FORMAT": "json"}
    env["DJANGO_SETTINGS_MODULE"] = "fundushub.settings"
    done = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True)
    *_, line = [json.loads(text) for text in done.stderr.splitlines()]  # every line parses
    assert line["message"] == "hello" and line["token"] == REDACTED
    env["LOG_FORMAT"] = "xml"
    refused = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True
    )
    assert refused.returncode != 0 and "LOG_FORMAT must be" in refused.stderr


def assert_secrets_absent(all_lines, *secrets):
    assert all_lines
    for line in all_lines:
        text = json.dumps(line)
        for secret in secrets:
            assert secret not in text, line
