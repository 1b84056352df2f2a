"""The checks are queued after an image is stored, run below storing, and always end."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from fundushub.camera.models import Subject
from fundushub.checks import queue
from fundushub.checks.models import ImageCheck
from fundushub.checks.tasks import PRIORITY, check_image
from fundushub.store.models import Image
from tests.camera.conftest import api, issue_token, resolve, upload
from tests.checks.fakes import fake_checks  # noqa: F401
from tests.conftest import form_data, fundus_jpeg, run_worker, store_image

pytestmark = pytest.mark.usefixtures("fake_checks")


def check_tasks(status=None):
    tasks = DBTaskResult.objects.filter(task_path=queue.TASK_PATH)
    return tasks.filter(status=status) if status else tasks


def direct_upload(client, world, data, name="direct.jpg"):
    client.force_login(world.alice)
    files = [SimpleUploadedFile(name, data, "image/jpeg")]
    assert client.post("/direct/upload", {**form_data(world), "files": files}).status_code == 303


def test_it_queues_an_uploaded_image_s_checks_when_its_row_commits(
    client, world, django_capture_on_commit_callbacks
):
    direct_upload(client, world, fundus_jpeg(1))
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()  # stores the file
    image = Image.objects.get()
    task = check_tasks().get()
    assert task.args_kwargs["args"] == [str(image.pk)]
    assert task.priority == PRIORITY < 0
    run_worker()
    assert sorted(ImageCheck.objects.filter(image=image).values_list("name", flat=True)) == [
        "eye",
        "sharpness",
    ]


def test_it_queues_a_camera_image_s_checks_when_it_is_stored(
    world, django_capture_on_commit_callbacks
):
    token = issue_token("RET-CAM-001", world.retina)
    Subject.objects.create(subject_identifier="105-10-0989-3", site=world.st_lucia)
    client = api(token)
    resolve(client)
    assert upload(client, "left", fundus_jpeg(2)).status_code == 201
    assert not check_tasks().exists()  # not before the image is stored
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    assert check_tasks().get().args_kwargs["args"] == [str(Image.objects.get().pk)]


def test_it_queues_nothing_for_a_copy_of_an_image_already_stored(
    client, world, django_capture_on_commit_callbacks
):
    data = fundus_jpeg(3)
    store_image(world, 3, data=data)
    direct_upload(client, world, data)
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    assert not check_tasks().exists()


def test_it_queues_nothing_when_the_store_rolls_back(world, django_capture_on_commit_callbacks):
    image = store_image(world, 4)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            queue.check_when_stored(image)
            raise RuntimeError("the row's transaction failed")
    assert callbacks == []
    assert not check_tasks().exists()


def test_it_queues_nothing_when_checks_are_off(world, settings, django_capture_on_commit_callbacks):
    settings.FUNDUSHUB_CHECKS = False
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        queue.check_when_stored(store_image(world, 5))
    assert not check_tasks().exists()


def test_a_failed_queueing_leaves_the_image_stored(
    client, world, monkeypatch, django_capture_on_commit_callbacks
):
    class Broken:
        def enqueue(self, *args):
            raise RuntimeError("queue unavailable")

    monkeypatch.setattr(queue, "check_image", Broken())
    direct_upload(client, world, fundus_jpeg(6))
    with django_capture_on_commit_callbacks(execute=True):
        run_worker()
    assert Image.objects.count() == 1
    assert not check_tasks().exists()  # run_checks back-fills it


def test_the_worker_stores_waiting_files_before_checking(client, world):
    check_image.enqueue(str(store_image(world, 7).pk))  # queued first
    direct_upload(client, world, fundus_jpeg(8))  # its file waits to be stored
    with transaction.atomic():
        first = DBTaskResult.objects.ready().get_locked()  # what django-tasks-db's worker takes
    assert first.task_path == "fundushub.uploads.tasks.process_job"


# --- a worker that died while checking ----------------------------------------------------------


def died_while_checking(image, minutes_ago: float):
    """A check task claimed by a worker that is gone: RUNNING for ever, as django-tasks-db leaves it."""
    check_image.enqueue(str(image.pk))
    task = check_tasks(TaskResultStatus.READY).latest("enqueued_at")
    task.claim("dead-worker")
    started = timezone.now() - timedelta(minutes=minutes_ago)
    DBTaskResult.objects.filter(pk=task.pk).update(started_at=started)
    return task


def test_the_reaper_ends_a_dead_worker_s_check_and_queues_the_image_again(world):
    image = store_image(world, 9)
    task = died_while_checking(image, minutes_ago=10)
    assert queue.requeue_stale() == 1
    task.refresh_from_db()
    assert task.status == TaskResultStatus.FAILED
    assert task.exception_class_path == queue.WORKER_STOPPED
    assert check_tasks(TaskResultStatus.READY).get().args_kwargs["args"] == [str(image.pk)]
    run_worker()
    assert ImageCheck.objects.filter(image=image).count() == 2


def test_the_reaper_leaves_a_check_that_is_still_running(world):
    task = died_while_checking(store_image(world, 10), minutes_ago=0.5)
    assert queue.requeue_stale() == 0
    task.refresh_from_db()
    assert task.status == TaskResultStatus.RUNNING


def test_a_reaper_racing_another_queues_the_image_once(world):
    image = store_image(world, 11)
    task = died_while_checking(image, minutes_ago=10)
    assert queue.requeue_stale() == 1
    # The slower reaper listed the task before the first ended it: it finds nothing to end.
    assert not queue._end_and_requeue(task.pk, str(image.pk), timezone.now())
    assert check_tasks(TaskResultStatus.READY).count() == 1


def test_after_the_last_attempt_the_missing_checks_end_as_errors(world, settings):
    settings.FUNDUSHUB_MAX_ATTEMPTS = 2
    image = store_image(world, 12)
    for _ in range(2):
        died_while_checking(image, minutes_ago=10)
    ImageCheck.objects.create(image=image, name="eye", version=1, verdict="pass")  # landed
    assert queue.requeue_stale() == 0
    assert not check_tasks(TaskResultStatus.READY).exists()
    rows = {row.name: row for row in ImageCheck.objects.filter(image=image)}
    assert rows["eye"].verdict == "pass"
    assert rows["sharpness"].verdict == "error"
    assert rows["sharpness"].reason == (
        "Could not be processed (2 attempts): the worker stopped while checking it"
    )


def test_an_image_deleted_meanwhile_gets_no_results(world, settings):
    settings.FUNDUSHUB_MAX_ATTEMPTS = 1
    image = store_image(world, 13)
    died_while_checking(image, minutes_ago=10)
    Image.objects.filter(pk=image.pk).delete()
    assert queue.requeue_stale() == 0
    assert not ImageCheck.objects.exists()


def test_the_worker_command_s_reaper_gives_back_dead_checks(world):
    from fundushub.worker.management.commands.worker import reap

    died_while_checking(store_image(world, 14), minutes_ago=10)
    reap()
    assert check_tasks(TaskResultStatus.READY).count() == 1
