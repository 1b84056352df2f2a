import uuid
from datetime import datetime

from django.core.files.uploadedfile import SimpleUploadedFile

from fundushub.store.models import Image
from fundushub.uploads.models import ItemState, UploadItem, UploadJob
from tests.checks.results import add_result, all_clear, four_checks  # noqa: F401
from tests.conftest import (
    form_data,
    fundus_jpeg,
    fundus_png,
    run_worker,
    store_image,
    worker_heartbeat,
)

TEXT = b"just some text, not an image\n"
STATES = {"queued", "processing", "completed", "duplicate", "error"}


def upload(client, world, *files, user=None, **overrides):
    """POST /direct/upload as `user` (alice by default); files are (name, bytes) pairs."""
    client.force_login(user or world.alice)
    uploads = [SimpleUploadedFile(name, data, "image/jpeg") for name, data in files]
    response = client.post("/direct/upload", {**form_data(world, **overrides), "files": uploads})
    assert response.status_code == 303, response.content
    return UploadJob.objects.get(pk=response["Location"].rsplit("/", 1)[1])


def url(job_id):
    return f"/api/upload-jobs/{job_id}/status"


def status(client, job, user=None):
    if user is not None:
        client.force_login(user)
    response = client.get(url(job.id))
    assert response.status_code == 200
    return response.json()


def set_states(job, *states):
    for item, state in zip(job.items.order_by("position"), states, strict=True):
        UploadItem.objects.filter(pk=item.pk).update(state=state)


def test_it_describes_the_job_its_uploader_and_every_file(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)), ("b.png", fundus_png(2)))
    body = status(client, job)
    assert body["job_id"] == body["token"] == str(job.id)
    assert body["uploader"] == "alice"
    assert datetime.fromisoformat(body["created_at"]) == job.created_at
    assert body["completed_at"] is None
    assert set(body["counts"]) == STATES
    assert [
        {k: item[k] for k in ("filename", "state", "detail", "image_id")} for item in body["items"]
    ] == [
        {"filename": "a.jpg", "state": "queued", "detail": "", "image_id": None},
        {"filename": "b.png", "state": "queued", "detail": "", "image_id": None},
    ]


def test_a_job_nobody_has_started_is_queued(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)), ("b.jpg", fundus_jpeg(2)))
    body = status(client, job)
    assert body["status"] == "queued"
    assert body["counts"] == {
        "queued": 2,
        "processing": 0,
        "completed": 0,
        "duplicate": 0,
        "error": 0,
    }


def test_a_job_with_a_file_being_worked_on_is_processing(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)), ("b.jpg", fundus_jpeg(2)))
    set_states(job, ItemState.PROCESSING, ItemState.QUEUED)
    body = status(client, job)
    assert body["status"] == "processing"
    assert [i["state"] for i in body["items"]] == ["processing", "queued"]


def test_a_job_with_some_files_finished_and_some_waiting_is_processing(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)), ("b.jpg", fundus_jpeg(2)))
    set_states(job, ItemState.COMPLETED, ItemState.QUEUED)
    assert status(client, job)["status"] == "processing"


def test_a_job_whose_files_were_all_stored_is_done_with_their_image_ids(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)), ("b.png", fundus_png(2)))
    run_worker()
    body = status(client, job)
    assert body["status"] == "done"
    assert body["counts"]["completed"] == 2
    images = {str(i.pk): i.original_filename for i in Image.objects.all()}
    assert {i["image_id"]: i["filename"] for i in body["items"]} == images
    assert [i["state"] for i in body["items"]] == ["completed", "completed"]
    assert datetime.fromisoformat(body["completed_at"]) >= job.created_at


def test_a_job_whose_only_file_is_a_duplicate_is_done_not_stuck(client, world):
    data = fundus_jpeg(7)
    upload(client, world, ("a.jpg", data))
    run_worker()
    again = upload(client, world, ("again.jpg", data))
    run_worker()
    body = status(client, again)
    assert body["status"] == "done"
    assert body["completed_at"] is not None
    [item] = body["items"]
    assert item["state"] == "duplicate" and item["detail"] == "Duplicate file"
    assert item["image_id"] == str(Image.objects.get().pk)


def test_a_job_of_stored_and_duplicate_files_is_done(client, world):
    data = fundus_jpeg(7)
    job = upload(client, world, ("a.jpg", data), ("copy.jpg", data))
    run_worker()
    body = status(client, job)
    assert body["status"] == "done"
    assert [i["state"] for i in body["items"]] == ["completed", "duplicate"]


def test_a_job_with_a_failed_file_is_an_error_saying_one_or_more_files_failed(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)), ("notes.jpg", TEXT))
    run_worker()
    body = status(client, job)
    assert body["status"] == "error"
    assert body["error"] == "One or more files failed"
    assert [(i["state"], i["detail"]) for i in body["items"]] == [
        ("completed", ""),
        ("error", "Invalid file type: text/plain. Only JPG/PNG allowed."),
    ]
    assert body["completed_at"] is not None


def test_a_job_whose_files_were_all_refused_on_arrival_is_finished_with_a_completion_time(
    client, world
):
    job = upload(client, world, ("notes.jpg", TEXT))
    body = status(client, job)
    assert body["status"] == "error"
    assert body["completed_at"] is not None
    assert datetime.fromisoformat(body["completed_at"]) >= job.created_at


def test_the_state_is_derived_from_the_items_every_time(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    run_worker()
    assert status(client, job)["status"] == "done"
    set_states(job, ItemState.ERROR)
    assert status(client, job)["status"] == "error"


def test_it_is_never_cached(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    response = client.get(url(job.id))
    assert response["Cache-Control"] == "no-store"


def test_another_users_job_is_a_404(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    client.force_login(world.bob)
    assert client.get(url(job.id)).status_code == 404


def test_a_random_job_id_is_a_404(client, world):
    client.force_login(world.alice)
    assert client.get(url(uuid.uuid4())).status_code == 404


def test_a_data_manager_of_the_jobs_lab_unit_can_follow_it(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    assert status(client, job, user=world.mary)["uploader"] == "alice"


def test_an_admin_of_another_lab_unit_gets_a_404(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    client.force_login(world.root)
    assert client.get(url(job.id)).status_code == 404


def test_a_data_manager_of_another_lab_unit_of_the_same_hospital_gets_a_404(
    client, world, same_hospital_other_unit_user
):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    client.force_login(same_hospital_other_unit_user)
    assert client.get(url(job.id)).status_code == 404


def test_anonymous_callers_get_a_401_in_json_not_a_login_page(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    client.logout()
    response = client.get(url(job.id))
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "Authentication required"}


def test_it_only_answers_get(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    assert client.post(url(job.id)).status_code == 405


def test_a_waiting_job_says_so_when_no_worker_has_been_seen_for_a_while(client, world, settings):
    settings.FUNDUSHUB_WORKER_STALE_SECONDS = 60
    worker_heartbeat(seconds_ago=300)
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    body = status(client, job)
    assert body["waiting_for_worker"] is True
    assert body["worker_hint"] == "Waiting for a worker — ask your administrator"


def test_a_job_with_no_worker_ever_started_says_so_too(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    assert status(client, job)["waiting_for_worker"] is True


def test_there_is_no_worker_hint_while_a_worker_beats(client, world, settings):
    settings.FUNDUSHUB_WORKER_STALE_SECONDS = 60
    worker_heartbeat(seconds_ago=5)
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    body = status(client, job)
    assert (body["waiting_for_worker"], body["worker_hint"]) == (False, "")


def test_a_finished_job_needs_no_worker_and_has_no_hint(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    run_worker()
    body = status(client, job)
    assert body["finished"] and body["waiting_for_worker"] is False


def test_its_outcome_counts_every_file_chosen_as_the_pages_do(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)), ("b.jpg", fundus_jpeg(2)))
    UploadJob.objects.filter(pk=job.pk).update(
        rejected=[{"filename": "seen.jpg", "reason": "Duplicate file"}]
    )
    set_states(job, ItemState.COMPLETED, ItemState.ERROR)
    assert status(client, job)["outcome"] == {
        "selected": 3,
        "stored": 1,
        "already_stored": 1,
        "failed": 1,
        "pending": 0,
        "left_out": 1,
        "in_store": 1,
        "text": "1 of 3 stored; 1 was already stored; 1 failed. "
        "1 of them was left out by the browser before upload.",
    }


def test_each_file_says_its_subject_and_eye(client, world):
    job = upload(
        client,
        world,
        ("P1_R.jpg", fundus_jpeg(1)),
        ("b.jpg", fundus_jpeg(2)),
        ("c.jpg", fundus_jpeg(3)),
        subject="P1",
        eye_from_name="on",
        file_subject=["", "P2", ""],
        file_eye=["", "", "unknown"],
    )
    items = status(client, job)["items"]
    assert [(i["subject"], i["eye"]) for i in items] == [
        ("P1", "Right eye"),  # from its name
        ("P2", "Left eye"),  # the job's area
        ("P1", None),  # unknown
    ]


def test_a_file_of_an_old_client_has_no_subject_and_the_jobs_eye(client, world):
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    assert [(i["subject"], i["eye"]) for i in status(client, job)["items"]] == [("", "Left eye")]


# --- checks at capture (issue 15): each stored file's checks, as they land ---


def blurred(image, **twin):
    """Gradability flags the image; the other checks found nothing (or a twin, if given)."""
    add_result(image, "gradability", "ungradable", "looks blurred", True)
    add_result(image, "laterality", "pass")
    if twin:
        add_result(image, "near_duplicate", "flag", "looks like an earlier image", True, **twin)
    else:
        add_result(image, "near_duplicate", "pass")
    add_result(image, "burned_text", "pass")


def test_each_stored_file_carries_its_checks_as_they_land(client, world, four_checks):  # noqa: F811
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)), ("b.jpg", fundus_jpeg(2)))
    assert [i["checks"] for i in status(client, job)["items"]] == [None, None]  # not stored yet
    run_worker()
    items = status(client, job)["items"]
    assert [(i["checks"]["state"], i["checks"]["text"]) for i in items] == [
        ("checking", "Checking…")
    ] * 2
    a, b = (Image.objects.get(pk=i["image_id"]) for i in items)
    blurred(a)
    all_clear(b)
    first, second = (i["checks"] for i in status(client, job)["items"])
    assert (first["state"], first["flagged"], first["clear"]) == ("done", True, False)
    assert first["checks"][0] == {
        "name": "gradability",
        "label": "Gradability",
        "verdict": "ungradable",
        "reason": "looks blurred",
        "flagged": True,
        "tone": "flag",
        "text": "Looks blurred — recapture while the patient is here",
        "twin_id": None,
        "twin_url": None,
    }
    assert [c["name"] for c in first["checks"]] == [
        "gradability",
        "laterality",
        "near_duplicate",
        "burned_text",
    ]
    assert (second["state"], second["flagged"], second["clear"]) == ("done", False, True)


def test_a_twin_is_linked_only_for_a_reader_who_may_see_it(client, world, four_checks):  # noqa: F811
    twin = store_image(world, 9, lab_unit=world.screening, user=world.mary)
    job = upload(client, world, ("a.jpg", fundus_jpeg(1)))
    run_worker()
    blurred(Image.objects.get(pk=status(client, job)["items"][0]["image_id"]), twin=twin)

    def near_duplicate(user):
        (item,) = status(client, job, user)["items"]
        return next(c for c in item["checks"]["checks"] if c["name"] == "near_duplicate")

    assert near_duplicate(world.alice)["twin_url"] is None  # Screening is not hers
    seen = near_duplicate(world.mary)
    assert seen["twin_url"] == f"/direct/images/{twin.pk}" and seen["twin_id"] == str(twin.pk)
    assert seen["text"] == "Looks like another image"


def test_a_job_s_checks_take_the_same_queries_whatever_its_number_of_files(
    client,
    world,
    four_checks,  # noqa: F811
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(n):
        job = upload(client, world, *[(f"f{k}.jpg", fundus_jpeg(100 * n + k)) for k in range(n)])
        run_worker()
        for item in job.items.all():
            blurred(item.image)
        with CaptureQueriesContext(connection) as ctx:
            assert all(i["checks"]["flagged"] for i in status(client, job)["items"])
        return len(ctx)

    assert queries(2) == queries(6)
