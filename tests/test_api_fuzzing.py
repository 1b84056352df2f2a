"""schemathesis against /api/schema/: every documented operation, valid and invalid inputs, all
checks (no 5xx, status codes, content types and bodies as documented), through the production
WSGI stack, signed in as a camera (token) and as a clinic user (session cookie + CSRF token)."""

from contextlib import contextmanager

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import ignored_auth

from fundushub.camera.models import Subject
from fundushub.uploads.models import UploadJob
from fundushub.wsgi import application
from tests.camera.conftest import issue_token
from tests.conftest import examination_of, fundus_jpeg, store_image

EXAMPLES = 10  # per operation and mode: the whole run stays well under a minute
CONFIG = {
    "checks": {
        # The wire contract answers 400 to well-formed requests it refuses on their content
        # (subject not registered, demographics that do not match, bytes that are not a JPEG):
        # shared/spec/camera-api.md fixes those codes, so they are accepted here too.
        "positive_data_acceptance": {
            "expected-statuses": ["2xx", "400", "401", "403", "404", "409"]
        },
    },
}


@contextmanager
def in_test_transaction():
    """Requests sent straight to the WSGI app must not close the test's database connection
    at their start and end (django.test.Client does the same around each of its requests)."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)


@pytest.fixture
def browser(world):
    """alice signed in, with the CSRF cookie her browser has after opening the upload form."""
    client = Client()
    client.force_login(world.alice)
    client.get("/direct/upload")
    return {name: morsel.value for name, morsel in client.cookies.items()}


@pytest.fixture
def api_schema(world, browser):
    """The schema as served, with the camera's token and alice's session as its two schemes'
    credentials: schemathesis applies each where the schema asks for it, and also tries the
    operations without them (401) and with made-up ones."""
    world.token = token = issue_token("FUZZ-CAM", world.retina)
    world.image = store_image(world, 1)
    world.examination = examination_of(world, 2)
    config = {
        **CONFIG,
        "auth": {
            "openapi": {
                "tokenAuth": {"api_key": f"Token {token}"},
                "cookieAuth": {"api_key": browser[django_settings.SESSION_COOKIE_NAME]},
            }
        },
    }
    with in_test_transaction():
        return schemathesis.openapi.from_wsgi(
            "/api/schema/", application, config=schemathesis.Config.from_dict(config)
        )


OPERATIONS = {
    "GET /api/retinopathy/ping/",
    "POST /api/retinopathy/resolve/",
    "POST /api/retinopathy/{subject_identifier}/{file_type}/",
    "GET /api/retinopathy/{subject_identifier}/status/",
    "GET /api/direct-upload/options",
    "POST /api/direct-upload/duplicates",
    "GET /api/upload-jobs/{job_id}/status",
    "GET /api/images/{image_id}",
    "GET /api/examinations/{exam_id}",
}
SETTINGS = hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same requests every run: a failure here is reproducible
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def run_operation(operation, mode, credentials) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @SETTINGS
    def each(case):
        case.call_and_validate(**credentials)

    each()


def test_the_api_answers_every_generated_request_as_documented(api_schema, browser):
    csrf = browser[django_settings.CSRF_COOKIE_NAME]
    # The page APIs' POSTs need the CSRF token, as from the page; harmless everywhere else.
    credentials = {
        "headers": {"X-CSRFToken": csrf},
        "cookies": {django_settings.CSRF_COOKIE_NAME: csrf},
    }
    failures, tried = [], []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            tried.append(f"{operation.label} ({mode.value})")
            try:
                with in_test_transaction():
                    run_operation(operation, mode, credentials)
            except Exception as e:  # every operation is tried; all failures are reported
                failures.append(f"{operation.label} ({mode.value}): {e}")
    assert OPERATIONS <= {label.rsplit(" (", 1)[0] for label in tried}, tried
    assert not failures, "\n\n".join(failures)


def test_the_successful_answers_match_the_schema(api_schema, world, browser):
    """Random ids and subjects mostly meet 404s: these requests reach the 200 bodies."""
    token = {"Authorization": f"Token {world.token}"}
    session = {"cookies": browser, "headers": {"X-CSRFToken": browser["csrftoken"]}}
    Subject.objects.create(subject_identifier="105-10-0989-3", site=world.st_lucia)
    job = UploadJob.objects.create(
        user=world.alice,
        hospital=world.st_lucia,
        lab_unit=world.retina,
        camera=world.topcon,
        disease=world.dr,
        area=world.left,
    )
    calls = [
        ("POST", "/api/retinopathy/resolve/", {"body": {"subject_identifier": "105-10-0989-3"}}),
        (
            "POST",
            "/api/retinopathy/{subject_identifier}/{file_type}/",
            {
                "path_parameters": {"subject_identifier": "105-10-0989-3", "file_type": "left"},
                "body": {"file": fundus_jpeg(7)},
                "media_type": "multipart/form-data",
            },
        ),
        (
            "GET",
            "/api/retinopathy/{subject_identifier}/status/",
            {"path_parameters": {"subject_identifier": "105-10-0989-3"}},
        ),
        ("GET", "/api/images/{image_id}", {"path_parameters": {"image_id": str(world.image.id)}}),
        (
            "GET",
            "/api/examinations/{exam_id}",
            {"path_parameters": {"exam_id": str(world.examination.pk)}},
        ),
        ("GET", "/api/upload-jobs/{job_id}/status", {"path_parameters": {"job_id": str(job.id)}}),
        (
            "POST",
            "/api/direct-upload/duplicates",
            {"body": {"hospital": world.st_lucia.pk, "md5": [world.image.md5]}},
        ),
    ]
    with in_test_transaction():
        for method, path, parts in calls:
            case = api_schema[path][method].Case(**parts)
            credentials = {"headers": token} if "retinopathy" in path else session
            # Real credentials are sent as they are; made-up ones are the fuzzing test's part.
            response = case.call_and_validate(**credentials, excluded_checks=[ignored_auth])
            assert response.status_code in (200, 201), (path, response.text)
