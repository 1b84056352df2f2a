"""The `checks` object of the upload and status answers: optional, pending at upload, results as
they land, and never pending for ever."""

from datetime import timedelta

import pytest
import yaml
from django.test import Client
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from fundushub.camera.models import CameraFile
from fundushub.checks import queue, standing
from fundushub.checks.models import ImageCheck
from fundushub.checks.tasks import check_image
from fundushub.store.models import Image
from tests.camera import dicoms
from tests.camera.conftest import api, resolve, status, upload
from tests.checks.fakes import fake_checks  # noqa: F401
from tests.conftest import fundus_jpeg, run_worker

pytestmark = pytest.mark.usefixtures("fake_checks")


@pytest.fixture
def client(cam):
    client = api(cam.token)
    assert resolve(client).status_code == 200
    return client


@pytest.fixture
def store(django_capture_on_commit_callbacks):
    """Let the worker store what was uploaded (which queues each new image's checks)."""

    def store():
        with django_capture_on_commit_callbacks(execute=True):
            run_worker()

    return store


def checks_of(client) -> dict:
    response = status(client)
    assert response.status_code == 200, response.content
    return response.json()["checks"]


def test_an_uploaded_picture_s_checks_are_pending_in_the_upload_answer(client):
    body = upload(client, "left", fundus_jpeg(1), name="IMG_L.jpg").json()
    assert body["checks"] == {
        "file_type": "left",
        "state": "pending",
        "flagged": False,
        "results": {},
    }


def test_a_report_has_no_checks_in_either_answer(client):
    assert "checks" not in upload(client, "report").json()
    assert checks_of(client) == {}


def test_the_status_answer_follows_each_picture_from_pending_to_its_results(client, store):
    upload(client, "left", fundus_jpeg(1), name="blurred_L.jpg")
    upload(client, "right", fundus_jpeg(2), name="IMG_R.jpg")
    upload(client, "report")
    assert {name: c["state"] for name, c in checks_of(client).items()} == {
        "blurred_L.jpg": "pending",  # not stored yet
        "IMG_R.jpg": "pending",
    }
    store()
    assert {c["state"] for c in checks_of(client).values()} == {"pending"}  # queued
    run_worker()
    checks = checks_of(client)
    assert checks["IMG_R.jpg"] == {
        "file_type": "right",
        "state": "done",
        "flagged": False,
        "results": {
            "eye": {"verdict": "pass", "flagged": False, "reason": "", "version": 1},
            "sharpness": {"verdict": "good", "flagged": False, "reason": "", "version": 2},
        },
    }
    left = checks["blurred_L.jpg"]
    assert (left["state"], left["flagged"]) == ("done", True)
    assert left["results"]["sharpness"] == {
        "verdict": "ungradable",
        "flagged": True,
        "reason": "looks blurred",
        "version": 2,
        "advice": "please look at it",  # the fake check has no advice of its own
    }


def test_a_real_check_s_flag_carries_its_advice_for_the_camera(client, store):
    upload(client, "left", fundus_jpeg(1), name="IMG_L.jpg")
    store()
    image = Image.objects.get()
    ImageCheck.objects.create(
        image=image, name="gradability", version=1, verdict="ungradable", flagged=True
    )
    result = checks_of(client)["IMG_L.jpg"]["results"]["gradability"]
    assert result["advice"] == "recapture while the patient is here"


def test_results_show_as_they_land_while_the_rest_are_pending(client, store):
    upload(client, "left", fundus_jpeg(1), name="IMG_L.jpg")
    store()
    ImageCheck.objects.create(image=Image.objects.get(), name="eye", version=1, verdict="pass")
    left = checks_of(client)["IMG_L.jpg"]
    assert left["state"] == "pending"
    assert list(left["results"]) == ["eye"]


def test_a_re_upload_of_the_same_bytes_answers_with_the_results(client, store):
    data = fundus_jpeg(1)
    upload(client, "left", data, name="IMG_L.jpg")
    store()
    run_worker()
    again = upload(client, "left", data, name="IMG_L.jpg")
    assert again.status_code == 200
    assert again.json()["checks"]["state"] == "done"


def test_a_dicom_s_preview_is_checked_under_the_dicom_s_name(client, store):
    upload(client, "left_dicom", dicoms.build(), name="L.dcm")
    store()
    run_worker()
    checks = checks_of(client)
    assert checks["L.dcm"]["file_type"] == "left_dicom"
    assert checks["L.dcm"]["state"] == "done"


def test_a_picture_that_could_not_become_an_image_says_why_it_was_not_checked(client, store):
    upload(client, "left", b"\xff\xd8\xff\xe0 not really a jpeg", name="broken.jpg")
    store()
    broken = checks_of(client)["broken.jpg"]
    assert broken["state"] == "not_checked"
    assert broken["reason"] == CameraFile.objects.get().image_detail
    assert broken["reason"].startswith("Corrupt or unreadable image")


def test_checks_whose_worker_died_are_not_pending_for_ever(client, store):
    upload(client, "left", fundus_jpeg(1), name="IMG_L.jpg")
    store()
    task = DBTaskResult.objects.get(task_path=queue.TASK_PATH)
    task.claim("dead-worker")
    assert checks_of(client)["IMG_L.jpg"]["state"] == "pending"  # running, for all we know
    long_ago = timezone.now() - queue.stale_after() - timedelta(seconds=1)
    DBTaskResult.objects.filter(pk=task.pk).update(started_at=long_ago)
    left = checks_of(client)["IMG_L.jpg"]
    assert left["state"] == "not_checked"
    assert left["reason"] == standing.NOT_RUN


def test_checks_queued_long_behind_other_work_say_so(client, store):
    upload(client, "left", fundus_jpeg(1), name="IMG_L.jpg")
    store()
    Image.objects.update(created_at=timezone.now() - standing.PATIENCE - timedelta(seconds=1))
    left = checks_of(client)["IMG_L.jpg"]
    assert (left["state"], left["reason"]) == ("not_checked", standing.QUEUED)


def test_with_checks_off_an_image_is_not_checked_and_the_answer_says_so(client, store, settings):
    settings.FUNDUSHUB_CHECKS = False
    upload(client, "left", fundus_jpeg(1), name="IMG_L.jpg")
    store()
    left = checks_of(client)["IMG_L.jpg"]
    assert (left["state"], left["reason"]) == ("not_checked", standing.OFF)
    run_worker()  # nothing was queued
    assert not ImageCheck.objects.exists()


def test_an_image_checked_later_by_run_checks_is_done(client, store, settings):
    settings.FUNDUSHUB_CHECKS = False
    upload(client, "left", fundus_jpeg(1), name="IMG_L.jpg")
    store()
    settings.FUNDUSHUB_CHECKS = True
    check_image.call(str(Image.objects.get().pk))  # as run_checks or the worker would
    assert checks_of(client)["IMG_L.jpg"]["state"] == "done"


def ref(prop: dict) -> str:
    """The component a property refers to, directly or through allOf (when it has a description)."""
    return (prop.get("$ref") or prop["allOf"][0]["$ref"]).rsplit("/", 1)[1]


def test_the_openapi_schema_describes_the_optional_checks_objects(db):
    doc = yaml.safe_load(Client().get("/api/schema/").content)
    schemas = doc["components"]["schemas"]
    assert ref(schemas["StoredFile"]["properties"]["checks"]) == "FileChecks"
    assert "checks" not in schemas["StoredFile"]["required"]
    by_name = schemas["ExaminationStatus"]["properties"]["checks"]
    assert ref(by_name["additionalProperties"]) == "FileChecks"
    assert "checks" not in schemas["ExaminationStatus"]["required"]
    file_checks = schemas["FileChecks"]
    assert set(file_checks["required"]) == {"file_type", "state", "flagged", "results"}
    state = schemas[ref(file_checks["properties"]["state"])]
    assert state["enum"] == ["pending", "done", "not_checked"]
    result = schemas[ref(file_checks["properties"]["results"]["additionalProperties"])]
    assert "ungradable" in schemas[ref(result["properties"]["verdict"])]["enum"]
    assert "advice" not in result["required"]
