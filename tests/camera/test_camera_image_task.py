"""left/right camera files join the shared image store in the background."""

import hashlib
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from fundushub.camera.models import CameraFile
from fundushub.camera.tasks import TASK_PATH, requeue_stale
from fundushub.store import blobs
from fundushub.store.models import Image
from fundushub.uploads.models import ItemState, UploadItem
from tests.camera import dicoms
from tests.camera.conftest import api, content_for, resolve, upload
from tests.conftest import form_data, fundus_jpeg, fundus_png, run_worker


def camera_upload(token, file_type, data, name=None, subject="105-10-0989-3"):
    client = api(token)
    assert resolve(client, subject).status_code == 200
    response = upload(client, file_type, data, name=name, subject=subject)
    assert response.status_code in (200, 201), response.content
    return CameraFile.objects.get(pk=response.json()["id"])


def direct_upload(client, world, data, name="direct.jpg"):
    client.force_login(world.alice)
    files = [SimpleUploadedFile(name, data, "image/jpeg")]
    client.post("/direct/upload", {**form_data(world), "files": files})
    run_worker()


def test_a_left_jpeg_becomes_an_image_with_everything_the_device_knows(cam):
    data = fundus_jpeg(1)
    record = camera_upload(cam.token, "left", data, name="IMG_L.jpg")
    assert record.image_state == "pending"
    assert not Image.objects.exists()  # joined in the background, not in the request
    assert run_worker() >= 1
    record.refresh_from_db()
    assert record.image_state == "stored"
    image = Image.objects.get()
    assert record.image == image
    assert image.source == "camera"
    assert image.area.code == "left"
    assert image.subject_identifier == "105-10-0989-3"
    assert image.hospital == cam.st_lucia
    assert image.lab_unit == cam.retina
    assert image.camera == cam.topcon
    assert image.original_filename == "IMG_L.jpg"
    assert image.content_type == "image/jpeg"
    assert (image.width, image.height) == (640, 480)
    assert image.md5 == hashlib.md5(data).hexdigest()
    assert image.sha256 == hashlib.sha256(data).hexdigest()
    assert blobs.exists(image.thumbnail_key)
    with blobs.open_blob(image.original_key) as f:
        assert f.read() == data


def test_a_right_png_becomes_a_right_eye_image(cam):
    record = camera_upload(cam.token, "right", fundus_png(2), name="right.png")
    run_worker()
    record.refresh_from_db()
    image = record.image
    assert image.area.code == "right"
    assert image.content_type == "image/png"
    assert (image.width, image.height) == (320, 240)
    assert blobs.exists(image.thumbnail_key)


def test_a_device_without_a_camera_model_gives_its_lab_unit_and_no_camera(cam):
    record = camera_upload(cam.other_token, "left", fundus_jpeg(3), subject="205-20-0001-1")
    run_worker()
    record.refresh_from_db()
    image = record.image
    assert image.hospital == cam.northgate and image.lab_unit == cam.outpatients
    assert image.camera is None
    assert image.subject_identifier == "205-20-0001-1"


def test_reports_become_no_image(cam):
    for file_type in ("report", "left_report", "right_report"):
        record = camera_upload(cam.token, file_type, content_for(file_type))
        assert record.image_state == "none"
    run_worker()
    assert not Image.objects.exists()
    assert set(CameraFile.objects.values_list("image_state", flat=True)) == {"none"}


def test_a_camera_image_identical_to_a_direct_upload_is_the_same_image(cam, client):
    data = fundus_jpeg(4)
    direct_upload(client, cam, data)
    direct = Image.objects.get()
    record = camera_upload(cam.token, "left", data, name="cam.jpg")
    run_worker()
    record.refresh_from_db()
    assert Image.objects.count() == 1
    assert record.image_state == "stored"
    assert record.image == direct
    assert direct.source == "direct"


def test_a_direct_upload_identical_to_a_camera_image_is_a_duplicate(cam, client):
    data = fundus_jpeg(5)
    record = camera_upload(cam.token, "right", data)
    run_worker()
    record.refresh_from_db()
    direct_upload(client, cam, data)
    assert Image.objects.count() == 1
    item = UploadItem.objects.get()
    assert item.state == ItemState.DUPLICATE
    assert item.image == record.image


def test_two_camera_files_with_the_same_bytes_share_one_image(cam):
    data = fundus_jpeg(6)
    a = camera_upload(cam.token, "left", data, name="a.jpg")
    b = camera_upload(cam.token, "left", data, name="b.jpg")
    run_worker()
    a.refresh_from_db()
    b.refresh_from_db()
    assert Image.objects.count() == 1
    assert a.image == b.image is not None
    assert a.image_state == b.image_state == "stored"


def test_deduplication_is_per_hospital(cam):
    data = fundus_jpeg(7)
    st_lucia = camera_upload(cam.token, "left", data)
    northgate = camera_upload(cam.other_token, "left", data, subject="205-20-0001-1")
    run_worker()
    st_lucia.refresh_from_db()
    northgate.refresh_from_db()
    assert Image.objects.count() == 2
    assert st_lucia.image.hospital == cam.st_lucia
    assert northgate.image.hospital == cam.northgate


def test_a_truncated_jpeg_is_kept_byte_exact_but_becomes_no_image(cam):
    whole = fundus_jpeg(8)
    data = whole[: len(whole) * 2 // 3]
    record = camera_upload(cam.token, "left", data, name="cut.jpg")
    assert record.sha256 == hashlib.sha256(data).hexdigest()
    with blobs.open_blob(record.stored_filename) as f:
        assert f.read() == data
    run_worker()
    record.refresh_from_db()
    assert record.image_state == "undecodable"
    assert record.image is None
    assert not Image.objects.exists()
    assert not blobs.exists(blobs.thumbnail_key(record.sha256))
    with blobs.open_blob(record.stored_filename) as f:
        assert f.read() == data


def test_running_the_task_again_changes_nothing(cam):
    from fundushub.camera.tasks import ingest_camera_image

    record = camera_upload(cam.token, "left", fundus_jpeg(9))
    run_worker()
    record.refresh_from_db()
    image = record.image
    ingest_camera_image.call(record.pk)
    record.refresh_from_db()
    assert record.image == image and Image.objects.count() == 1


# --- files that fail: every attempt counts, and every file ends in a terminal state -------------


def expire_leases():
    CameraFile.objects.update(image_lease_until=timezone.now() - timedelta(seconds=1))


def task_rows(record) -> int:
    return DBTaskResult.objects.filter(task_path=TASK_PATH, args_kwargs__args__0=record.pk).count()


def breaking(monkeypatch, times):
    """Preparing a camera file's picture raises on its first `times` attempts."""
    from fundushub.camera import tasks

    real, calls = tasks._incoming, []

    def flaky(record):
        calls.append(record.pk)
        if len(calls) <= times:
            raise TypeError("unsupported operand type(s) for *: 'NoneType' and 'int'")
        return real(record)

    monkeypatch.setattr(tasks, "_incoming", flaky)
    return calls


def test_the_dicoms_that_looped_for_ever_end_with_no_preview_on_their_first_attempt(cam):
    bomb_frame = dicoms.jpeg_dicom(dicoms.jpeg(claim=(65535, 65535)))
    rows_0 = dicoms.build(rows=0, pixel_data=b"")
    records = [
        camera_upload(cam.token, "left_dicom", bomb_frame, name="bomb_frame.dcm"),
        camera_upload(cam.token, "right_dicom", rows_0, name="rows_0.dcm"),
    ]
    run_worker()
    for record in records:
        record.refresh_from_db()
        assert record.image_state == "no_preview"
        assert record.image_attempts == 1 and task_rows(record) == 1
    assert "JPEG frame" in records[0].image_detail
    assert "empty image" in records[1].image_detail
    assert requeue_stale(0) == 0


def test_an_unexpected_failure_is_an_attempt_and_the_file_is_tried_again_after_its_lease(
    cam, monkeypatch
):
    breaking(monkeypatch, times=1)
    record = camera_upload(cam.token, "left", fundus_jpeg(10))
    run_worker()
    record.refresh_from_db()
    assert record.image_state == "pending" and record.image_attempts == 1
    assert record.image_detail.startswith("Attempt 1 failed: TypeError: unsupported operand")
    assert requeue_stale(0) == 0  # its lease still runs
    expire_leases()
    assert requeue_stale(0) == 1
    run_worker()
    record.refresh_from_db()
    assert record.image_state == "stored" and record.image_attempts == 2
    assert record.image_detail == ""


def test_a_file_failing_every_attempt_ends_as_an_error_in_words(cam, monkeypatch, settings):
    breaking(monkeypatch, times=99)
    record = camera_upload(cam.token, "left", fundus_jpeg(11))
    for _ in range(10):
        run_worker()
        expire_leases()
        requeue_stale(0)
    record.refresh_from_db()
    assert record.image_state == "error"
    assert record.image_attempts == settings.FUNDUSHUB_MAX_ATTEMPTS == 3
    assert record.image_detail == (
        "Could not be processed (3 attempts): "
        "TypeError: unsupported operand type(s) for *: 'NoneType' and 'int'"
    )
    assert task_rows(record) == 3
    with blobs.open_blob(record.stored_filename) as f:  # the file itself is kept
        assert f.read() == fundus_jpeg(11)


def test_a_worker_that_died_on_a_file_counts_as_an_attempt(cam):
    record = camera_upload(cam.token, "left", fundus_jpeg(12))
    for attempt in (1, 2, 3):
        record.refresh_from_db()
        assert record.image_attempts == attempt
        # A worker took the task and the file, then died: its task row stays RUNNING for ever.
        DBTaskResult.objects.update(status="RUNNING")
        expire_leases()
        requeue_stale(0)
    record.refresh_from_db()
    assert record.image_state == "error"
    assert record.image_detail == (
        "Could not be processed (3 attempts): the worker stopped while handling it"
    )
    assert task_rows(record) == 3


def test_a_file_held_by_a_live_worker_is_left_alone(cam):
    from fundushub.camera.tasks import _claim

    record = camera_upload(cam.token, "left", fundus_jpeg(13))
    DBTaskResult.objects.update(status="RUNNING")
    assert _claim(record.pk) is not None
    assert _claim(record.pk) is None  # a second worker cannot take it
    assert requeue_stale(0) == 0
    assert task_rows(record) == 1


def test_a_file_whose_task_waits_for_a_worker_is_not_queued_twice(cam):
    record = camera_upload(cam.token, "left", fundus_jpeg(14))
    CameraFile.objects.update(received_at=timezone.now() - timedelta(hours=1))
    assert requeue_stale(0) == 0
    assert task_rows(record) == 1


@pytest.mark.parametrize(
    "data, state, detail",
    [
        (dicoms.build(rows=4, columns=6, samples=3), "stored", ""),
        (dicoms.build(rows=4, columns=6, bits=16), "stored", ""),
        (dicoms.build(rows=4, columns=6, frames=3), "stored", ""),
        (dicoms.jpeg_dicom(dicoms.jpeg(claim=(65535, 65535))), "no_preview", "JPEG frame"),
        (dicoms.jpeg_dicom(dicoms.jpeg(claim=(10000, 10000))), "no_preview", "10000 × 10000"),
        (dicoms.bomb(), "no_preview", "65535 × 65535"),
        (dicoms.build(rows=0, pixel_data=b""), "no_preview", "empty image"),
        (dicoms.build(pixel_data=None), "no_preview", "no pixel data"),
        (dicoms.build(pixel_data=b"\x01\x02"), "no_preview", "shorter than its header declares"),
    ],
    ids=[
        "rgb8",
        "mono16",
        "multi-frame",
        "jpeg-65535",
        "jpeg-10000",
        "bomb",
        "rows0",
        "no-pixels",
        "short",
    ],
)
def test_each_kind_of_dicom_ends_in_one_attempt_kept_byte_exact(cam, data, state, detail):
    record = camera_upload(cam.token, "left_dicom", data, name="scan.dcm")
    run_worker()
    record.refresh_from_db()
    assert record.image_state == state and detail in record.image_detail
    assert record.image_attempts == 1 and task_rows(record) == 1
    assert (record.image is not None) == (state == "stored")
    with blobs.open_blob(record.stored_filename) as f:
        assert f.read() == data


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing in the task catches it."""


def test_a_file_whose_worker_died_half_way_is_queued_again_and_stored_after_its_lease(
    cam, monkeypatch
):
    from fundushub.store import intake
    from fundushub.worker.management.commands.worker import reap

    def dies(**row):
        raise WorkerKilled

    record = camera_upload(cam.token, "left", fundus_jpeg(15))
    # A worker takes the task and the file, writes the thumbnail, and dies before the insert.
    task = DBTaskResult.objects.get()
    task.claim("worker-that-dies")
    with monkeypatch.context() as m, pytest.raises(WorkerKilled):
        m.setattr(intake, "insert_or_existing", dies)
        task.task.call(*task.args_kwargs["args"])
    record.refresh_from_db()
    assert (record.image_state, record.image_attempts, record.image_detail) == ("pending", 1, "")
    reap()
    assert task_rows(record) == 1  # its lease still runs

    expire_leases()
    reap()
    assert task_rows(record) == 2
    run_worker()
    record.refresh_from_db()
    assert (record.image_state, record.image_attempts) == ("stored", 2)
    assert record.image == Image.objects.get()
    assert blobs.exists(record.image.thumbnail_key)


@pytest.mark.parametrize("attempts", [1, 3], ids=["queued-again", "at-the-last-attempt"])
def test_a_file_a_worker_claims_while_the_reaper_looks_keeps_its_lease(
    cam, monkeypatch, settings, attempts
):
    """The reaper lists a file whose lease ran out; before it changes the row, a worker claims
    the file. The worker keeps its fresh lease: the file is neither queued a second time nor
    given up as an error under it."""
    from fundushub.camera import tasks

    settings.FUNDUSHUB_MAX_ATTEMPTS = 3
    record = camera_upload(cam.token, "left", fundus_jpeg(15))
    DBTaskResult.objects.update(status="RUNNING")
    CameraFile.objects.update(image_attempts=attempts)
    expire_leases()
    real_waiting = tasks.task_waiting

    def claimed_meanwhile(path, pk):
        assert tasks._claim(pk) is not None  # a worker takes the file between list and update
        return real_waiting(path, pk)

    monkeypatch.setattr(tasks, "task_waiting", claimed_meanwhile)
    assert requeue_stale(0) == 0
    record.refresh_from_db()
    assert record.image_state == "pending"
    assert record.image_attempts == attempts
    assert record.image_lease_until > timezone.now()
    assert task_rows(record) == 1


def test_a_file_whose_bytes_are_gone_fails_in_words_that_say_so(cam):
    # Found by mutation testing: nothing read the store's LostBytes message before.
    record = camera_upload(cam.token, "left", fundus_jpeg(16))
    blobs.delete(record.stored_filename)
    run_worker()
    record.refresh_from_db()
    assert not Image.objects.exists()
    assert (record.image_state, record.image_detail) == (
        "pending",
        "Attempt 1 failed: LostBytes: The bytes were lost before they were stored",
    )
