import hashlib
import signal
import threading
import time
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from fundushub.accounts.models import User
from fundushub.store import blobs
from fundushub.store.models import Image
from fundushub.uploads.ingest import LostLease, process_item
from fundushub.uploads.models import ItemState, UploadItem, UploadJob
from fundushub.uploads.tasks import claim_next, process_job, reclaim_expired
from tests.conftest import form_data, fundus_jpeg, noisy_jpeg, run_worker, start_worker


def upload(client, world, files, user=None):
    client.force_login(user or world.alice)
    client.post(
        "/direct/upload",
        {
            **form_data(world),
            "files": [SimpleUploadedFile(n, d, "image/jpeg") for n, d in files],
        },
    )
    return UploadJob.objects.order_by("created_at").last()


def test_a_stored_original_is_byte_identical_and_its_thumbnail_exists(client, world):
    data = fundus_jpeg(1)
    upload(client, world, [("a.jpg", data)])
    run_worker()
    image = Image.objects.get()
    assert image.sha256 == hashlib.sha256(data).hexdigest()
    assert image.md5 == hashlib.md5(data).hexdigest()
    with blobs.open_blob(image.original_key) as f:
        assert f.read() == data
    assert blobs.exists(image.thumbnail_key)
    assert (image.width, image.height) == (640, 480)


def test_the_staged_bytes_are_gone_once_the_item_is_finished(client, world, isolated_storage):
    upload(client, world, [("a.jpg", fundus_jpeg(1)), ("b.jpg", b"not an image")])
    run_worker()
    assert list((isolated_storage / "staging").iterdir()) == []


def test_a_worker_that_died_after_moving_the_bytes_is_finished_by_the_next(client, world):
    job = upload(client, world, [("a.jpg", fundus_jpeg(2))])
    item = claim_next(job.id)
    blobs.move_into_place(item.staged_key, blobs.original_key(item.sha256))  # then "died"
    assert process_item(item) == ItemState.COMPLETED
    assert Image.objects.get().sha256 == item.sha256


def test_an_expired_claim_is_requeued_and_then_completed(client, world):
    job = upload(client, world, [("a.jpg", fundus_jpeg(3))])
    item = claim_next(job.id)
    UploadItem.objects.filter(pk=item.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert reclaim_expired() == 1
    assert UploadItem.objects.get().state == ItemState.QUEUED
    run_worker()
    assert UploadItem.objects.get().state == ItemState.COMPLETED


def _age(job, seconds=3600):
    past = timezone.now() - timedelta(seconds=seconds)
    UploadJob.objects.filter(pk=job.pk).update(created_at=past)
    job.items.exclude(finished_at=None).update(finished_at=past)


def test_a_job_whose_task_died_between_two_items_is_queued_again(client, world):
    from django_tasks_db.models import DBTaskResult

    job = upload(client, world, [("a.jpg", fundus_jpeg(1)), ("b.jpg", fundus_jpeg(2))])
    process_item(claim_next(job.id))  # first item done, then the worker died
    DBTaskResult.objects.update(status="RUNNING")  # its task row stays RUNNING for ever
    _age(job)
    reclaim_expired()
    run_worker()
    assert set(job.items.values_list("state", flat=True)) == {ItemState.COMPLETED}


def test_a_job_still_waiting_for_a_worker_is_not_queued_twice(client, world):
    from django_tasks_db.models import DBTaskResult

    job = upload(client, world, [("a.jpg", fundus_jpeg(1))])
    _age(job)
    reclaim_expired()
    assert DBTaskResult.objects.count() == 1


def test_a_live_claim_is_left_alone_by_the_reaper(client, world):
    job = upload(client, world, [("a.jpg", fundus_jpeg(3))])
    claim_next(job.id)
    assert reclaim_expired() == 0
    assert UploadItem.objects.get().state == ItemState.PROCESSING


def test_an_item_that_keeps_killing_its_worker_ends_as_an_error(
    client, world, settings, isolated_storage
):
    from django_tasks_db.models import DBTaskResult

    job = upload(client, world, [("a.jpg", fundus_jpeg(4))])
    item = claim_next(job.id)
    UploadItem.objects.filter(pk=item.pk).update(
        attempts=settings.FUNDUSHUB_MAX_ATTEMPTS, lease_until=timezone.now() - timedelta(seconds=1)
    )
    rows = DBTaskResult.objects.count()
    reclaim_expired()
    item.refresh_from_db()
    assert item.state == ItemState.ERROR
    assert (
        item.detail
        == "Could not be processed (3 attempts): the worker stopped while handling this file"
    )
    assert DBTaskResult.objects.count() == rows  # nothing left to run: no task queued for it
    assert list((isolated_storage / "staging").iterdir()) == []


def test_a_worker_whose_claim_was_taken_over_cannot_record_a_result(client, world):
    job = upload(client, world, [("a.jpg", fundus_jpeg(5))])
    stale = claim_next(job.id)
    UploadItem.objects.filter(pk=stale.pk).update(attempts=stale.attempts + 1)  # re-claimed
    with pytest.raises(LostLease):
        process_item(stale)
    assert not Image.objects.exists()
    assert User.objects.get(pk=world.alice.pk).file_upload_count == 0


def failing(monkeypatch, name, times):
    """process_item raises for the file `name` on its first `times` attempts."""
    from fundushub.uploads import tasks

    real, calls = tasks.process_item, []

    def flaky(item):
        calls.append(item.filename)
        if item.filename == name and calls.count(name) <= times:
            raise RuntimeError("disk on fire")
        return real(item)

    monkeypatch.setattr(tasks, "process_item", flaky)
    return calls


def test_a_file_failing_every_attempt_ends_as_an_error_in_words_and_the_job_goes_on(
    client, world, monkeypatch, isolated_storage
):
    job = upload(client, world, [("a.jpg", fundus_jpeg(6)), ("b.jpg", fundus_jpeg(7))])
    calls = failing(monkeypatch, "a.jpg", times=99)
    process_job.call(str(job.id))
    a, b = job.items.order_by("position")
    assert a.state == ItemState.ERROR and a.attempts == 3
    assert a.detail == "Could not be processed (3 attempts): RuntimeError: disk on fire"
    assert b.state == ItemState.COMPLETED
    assert calls == ["a.jpg", "b.jpg", "a.jpg", "a.jpg"]  # the retried file waits for the others
    assert list((isolated_storage / "staging").iterdir()) == []


def test_a_file_that_fails_once_is_tried_again_and_stored(client, world, monkeypatch):
    job = upload(client, world, [("a.jpg", fundus_jpeg(8))])
    failing(monkeypatch, "a.jpg", times=1)
    process_job.call(str(job.id))
    item = UploadItem.objects.get()
    assert item.state == ItemState.COMPLETED and item.attempts == 2
    assert Image.objects.count() == 1


def test_the_number_of_attempts_is_a_setting(client, world, monkeypatch, settings):
    settings.FUNDUSHUB_MAX_ATTEMPTS = 1
    job = upload(client, world, [("a.jpg", fundus_jpeg(9))])
    failing(monkeypatch, "a.jpg", times=1)
    process_job.call(str(job.id))
    item = UploadItem.objects.get()
    assert item.state == ItemState.ERROR and item.attempts == 1
    assert item.detail == "Could not be processed (1 attempt): RuntimeError: disk on fire"


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_uploads_of_the_same_bytes_store_exactly_one(client, world):
    data = fundus_jpeg(11)
    first = upload(client, world, [("a.jpg", data)])
    second = upload(client, world, [("a-again.jpg", data)], user=world.mary)
    barrier = threading.Barrier(2)
    errors = []

    def run(job_id):
        try:
            barrier.wait()
            process_job.call(str(job_id))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(j.id,)) for j in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert Image.objects.count() == 1
    states = sorted(UploadItem.objects.values_list("state", flat=True))
    assert states == [ItemState.COMPLETED, ItemState.DUPLICATE]
    used = User.objects.filter(pk__in=[world.alice.pk, world.mary.pk])
    assert sum(u.file_upload_count for u in used) == 1


def _wait(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_job_leaves_nothing_stuck_once_a_worker_runs_again(
    client, world, isolated_storage
):
    n = 24
    job = upload(client, world, [(f"{i}.jpg", noisy_jpeg(i, size=(1400, 1000))) for i in range(n)])
    world.alice.upload_quota = 0
    world.alice.save()
    env = {"FUNDUSHUB_ITEM_LEASE_SECONDS": 2, "FUNDUSHUB_REAPER_INTERVAL": 1}
    done = UploadItem.objects.filter(job=job, state=ItemState.COMPLETED)

    worker = start_worker(isolated_storage, **env)
    try:
        assert _wait(lambda: done.count() >= 3), "the first worker never got going"
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        worker.kill()
        worker.stdout.close()
    assert done.count() < n, "the worker finished before it could be killed"

    worker = start_worker(isolated_storage, **env)
    try:
        finished = _wait(lambda: not job.items.filter(state__in=["queued", "processing"]).exists())
    finally:
        worker.send_signal(signal.SIGINT)
        output = worker.communicate(timeout=15)[0].decode(errors="replace")
    assert finished, f"items were left queued or processing; worker said:\n{output}"
    assert done.count() == n
    assert Image.objects.count() == n
    assert len(set(job.items.values_list("image_id", flat=True))) == n
    assert User.objects.get(pk=world.alice.pk).file_upload_count == n
