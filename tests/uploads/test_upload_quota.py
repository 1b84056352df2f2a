"""The lifetime upload quota is reserved before a file's bytes move: a refused file leaves nothing
on disk, and a reservation whose file fails or turns out a duplicate is given back.

Prints the issue's probe figure (orphan originals and thumbnails after parallel workers); run with -s.
"""

import queue
import threading
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from fundushub.accounts.models import User
from fundushub.store.models import Image
from fundushub.uploads.ingest import QUOTA_EXCEEDED, give_back_held_quota
from fundushub.uploads.models import ItemState, UploadItem, UploadJob
from fundushub.uploads.tasks import process_job, reclaim_expired
from tests.conftest import form_data, fundus_jpeg, run_worker


def upload(client, world, files) -> UploadJob:
    client.post(
        "/direct/upload",
        {**form_data(world), "files": [SimpleUploadedFile(n, d, "image/jpeg") for n, d in files]},
    )
    return UploadJob.objects.order_by("created_at").last()


def on_disk(media_root, folder) -> set:
    root = media_root / folder
    return (
        {p.name.split(".")[0] for p in root.rglob("*") if p.is_file()} if root.exists() else set()
    )


def stored(world) -> set:
    return set(Image.objects.values_list("sha256", flat=True))


def used(world) -> int:
    return User.objects.get(pk=world.alice.pk).file_upload_count


@pytest.fixture
def alice(client, world):
    world.alice.upload_quota = 5
    world.alice.save()
    client.force_login(world.alice)
    return client


def test_a_file_refused_for_quota_leaves_nothing_on_disk(alice, world, isolated_storage):
    world.alice.upload_quota = 1
    world.alice.save()
    upload(alice, world, [(f"{i}.jpg", fundus_jpeg(i)) for i in range(3)])
    run_worker()
    states = list(UploadItem.objects.order_by("position").values_list("state", "detail"))
    assert states[0][0] == ItemState.COMPLETED
    assert states[1:] == [(ItemState.ERROR, QUOTA_EXCEEDED)] * 2
    assert on_disk(isolated_storage, "originals") == stored(world)
    assert on_disk(isolated_storage, "thumbs") == stored(world)
    assert on_disk(isolated_storage, "staging") == set()
    assert used(world) == 1


def test_a_reservation_whose_file_is_unreadable_is_given_back(alice, world, isolated_storage):
    world.alice.upload_quota = 1
    world.alice.save()
    cut = fundus_jpeg(1)[:2000]
    upload(alice, world, [("cut.jpg", cut), ("good.jpg", fundus_jpeg(2))])
    run_worker()
    states = list(UploadItem.objects.order_by("position").values_list("state", flat=True))
    assert states == [ItemState.ERROR, ItemState.COMPLETED]
    assert used(world) == 1


def test_a_reservation_lost_to_an_exception_is_given_back(
    alice, world, isolated_storage, monkeypatch, settings
):
    settings.FUNDUSHUB_MAX_ATTEMPTS = 1

    def broken(*args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr("fundushub.store.intake.decode_and_thumbnail", broken)
    upload(alice, world, [("a.jpg", fundus_jpeg(1))])
    run_worker()
    assert UploadItem.objects.get().state == ItemState.ERROR
    assert used(world) == 0


def test_a_dead_workers_reservation_is_kept_for_the_retry_not_taken_twice(alice, world):
    job = upload(alice, world, [("a.jpg", fundus_jpeg(1))])
    # A worker claimed the item, reserved its quota and died before finishing.
    expired = timezone.now() - timedelta(seconds=1)
    job.items.update(state=ItemState.PROCESSING, attempts=1, lease_until=expired, quota_held=True)
    User.objects.filter(pk=world.alice.pk).update(file_upload_count=1)
    run_worker()
    assert UploadItem.objects.get().state == ItemState.COMPLETED
    assert used(world) == 1


def test_a_dead_workers_reservation_is_given_back_when_its_file_gives_up(alice, world, settings):
    job = upload(alice, world, [("a.jpg", fundus_jpeg(1))])
    expired = timezone.now() - timedelta(seconds=1)
    job.items.update(
        state=ItemState.PROCESSING,
        attempts=settings.FUNDUSHUB_MAX_ATTEMPTS,
        lease_until=expired,
        quota_held=True,
    )
    User.objects.filter(pk=world.alice.pk).update(file_upload_count=1)
    reclaim_expired()
    assert UploadItem.objects.get().state == ItemState.ERROR
    assert used(world) == 0


@pytest.mark.django_db(transaction=True)
def test_under_parallel_workers_the_files_on_disk_are_exactly_the_stored_images(
    alice, world, isolated_storage
):
    # 20 jobs of 3 files, overlapping (job j sends seeds j, j+1, j+2): 22 distinct images, many
    # duplicates racing each other, and a quota of 5.
    jobs = [
        upload(alice, world, [(f"{j}-{s}.jpg", fundus_jpeg(s)) for s in (j, j + 1, j + 2)])
        for j in range(20)
    ]
    work = queue.Queue()
    for job in jobs:
        work.put(str(job.id))
    barrier = threading.Barrier(4)
    errors = []

    def worker():
        try:
            barrier.wait()
            while True:
                try:
                    job_id = work.get_nowait()
                except queue.Empty:
                    return
                process_job.call(job_id)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    images = stored(world)
    originals, thumbs = on_disk(isolated_storage, "originals"), on_disk(isolated_storage, "thumbs")
    print(
        f"after 20 jobs x 3 files on 4 parallel workers, quota 5: {len(images)} stored, "
        f"{len(originals - images)} orphan originals + {len(thumbs - images)} orphan thumbnails, "
        f"{len(on_disk(isolated_storage, 'staging'))} staged files left"
    )
    assert len(images) == 5 and used(world) == 5
    assert originals == images and thumbs == images
    assert on_disk(isolated_storage, "staging") == set()
    items = UploadItem.objects.all()
    assert not items.filter(state__in=[ItemState.QUEUED, ItemState.PROCESSING]).exists()
    assert items.filter(state=ItemState.COMPLETED).count() == 5
    refused = items.filter(state=ItemState.ERROR)
    assert set(refused.values_list("detail", flat=True)) == {QUOTA_EXCEEDED}


# --- found by mutation testing (mutmut): give back one unit, only the given-up item's, once ------


def test_a_reservation_given_back_returns_one_unit_not_more(alice, world):
    User.objects.filter(pk=world.alice.pk).update(file_upload_count=3)
    upload(alice, world, [("cut.jpg", fundus_jpeg(1)[:2000])])
    run_worker()
    assert UploadItem.objects.get().state == ItemState.ERROR
    assert used(world) == 3


def test_giving_up_on_a_dead_workers_item_leaves_other_items_reservations_alone(
    alice, world, settings
):
    job = upload(alice, world, [("a.jpg", fundus_jpeg(1)), ("b.jpg", fundus_jpeg(2))])
    dead, live = job.items.order_by("position")
    UploadItem.objects.filter(pk=dead.pk).update(
        state=ItemState.PROCESSING,
        attempts=settings.FUNDUSHUB_MAX_ATTEMPTS,
        lease_until=timezone.now() - timedelta(seconds=1),
        quota_held=True,
    )
    UploadItem.objects.filter(pk=live.pk).update(  # a live worker's claim, far from expiry
        state=ItemState.PROCESSING,
        attempts=1,
        lease_until=timezone.now() + timedelta(hours=1),
        quota_held=True,
    )
    User.objects.filter(pk=world.alice.pk).update(file_upload_count=2)
    reclaim_expired()
    live.refresh_from_db()
    assert (live.state, live.quota_held) == (ItemState.PROCESSING, True)
    assert used(world) == 1


def test_two_reapers_giving_back_the_same_items_reservation_give_it_back_once(alice, world):
    job = upload(alice, world, [("a.jpg", fundus_jpeg(1))])
    item = job.items.get()
    UploadItem.objects.filter(pk=item.pk).update(state=ItemState.ERROR, quota_held=True)
    User.objects.filter(pk=world.alice.pk).update(file_upload_count=2)
    other_reaper = []

    def after_the_first_query(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not other_reaper:  # the other reaper runs between this one's SELECT and its UPDATE
            other_reaper.append(True)
            give_back_held_quota([item.pk])
        return result

    with connection.execute_wrapper(after_the_first_query):
        give_back_held_quota([item.pk])
    assert other_reaper
    item.refresh_from_db()
    assert not item.quota_held
    assert used(world) == 1
