"""The worker command's reaper over an hour of bad files: task rows stay bounded, files end terminal.

The clock is faked: every reaper interval of that hour, the reaper runs and then a worker runs every
ready task. A file "kills" its worker by raising an exception no code catches, which leaves its task
row RUNNING and its claim held, as a SIGKILL would.
"""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from fundushub.camera.models import CameraFile, Subject
from fundushub.camera.tasks import TASK_PATH
from fundushub.uploads.models import ItemState, UploadItem, UploadJob
from fundushub.worker.management.commands.worker import reap
from tests.camera import dicoms
from tests.camera.conftest import api, issue_token, resolve, upload
from tests.conftest import form_data, fundus_jpeg

HOUR = 3600


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing in the task catches it."""


@pytest.fixture
def camera(world):
    """A camera at St Lucia and the subject it examines (as in tests/camera)."""
    world.token = issue_token("RET-CAM-001", world.retina)
    Subject.objects.create(subject_identifier="105-10-0989-3", site=world.st_lucia)
    return world


@pytest.fixture
def clock(monkeypatch):
    """timezone.now() as a hand that only the test moves."""
    now = [timezone.now()]
    monkeypatch.setattr(timezone, "now", lambda: now[0])
    return now


@pytest.fixture
def sabotage(monkeypatch):
    """Files named raises.* fail with an exception on every attempt; kills.* kill their worker."""
    from fundushub.camera import tasks as camera_tasks
    from fundushub.uploads import tasks as upload_tasks

    def fail_by_name(name):
        if name.startswith("raises"):
            raise TypeError("unsupported operand type(s) for *: 'NoneType' and 'int'")
        if name.startswith("kills"):
            raise WorkerKilled

    real_incoming, real_item = camera_tasks._incoming, upload_tasks.process_item

    def picture(record):
        fail_by_name(record.original_filename)
        return real_incoming(record)

    def process_item(item):
        fail_by_name(item.filename)
        return real_item(item)

    monkeypatch.setattr(camera_tasks, "_incoming", picture)
    monkeypatch.setattr(upload_tasks, "process_item", process_item)


def run_ready_tasks():
    """One worker pass over the queue; a killed task's row stays RUNNING, as a dead worker's does."""
    while task := DBTaskResult.objects.ready().order_by("enqueued_at").first():
        task.claim("simulated-worker")
        args, kwargs = task.args_kwargs["args"], task.args_kwargs["kwargs"]
        try:
            result = task.task.call(*args, **kwargs)
        except WorkerKilled:
            continue
        except Exception as e:
            task.set_failed(e)
        else:
            task.set_successful(result)


def reap_for(clock, seconds, interval):
    for _ in range(seconds // interval):
        clock[0] += timedelta(seconds=interval)
        reap()
        run_ready_tasks()


def camera_files(world, files):
    client = api(world.token)
    assert resolve(client).status_code == 200
    records = {}
    for name, file_type, data in files:
        response = upload(client, file_type, data, name=name)
        assert response.status_code == 201, response.content
        records[name] = CameraFile.objects.get(pk=response.json()["id"])
    return records


def direct_jobs(client, world, names):
    client.force_login(world.alice)
    jobs = {}
    for i, name in enumerate(names):
        files = [SimpleUploadedFile(name, fundus_jpeg(100 + i), "image/jpeg")]
        client.post("/direct/upload", {**form_data(world), "files": files})
        jobs[name] = UploadJob.objects.order_by("created_at").last()
    return jobs


def test_an_hour_of_reaping_bad_files_leaves_a_bounded_number_of_task_rows(
    camera, client, clock, sabotage, settings
):
    cameras = camera_files(
        camera,
        [
            ("bomb_frame.dcm", "left_dicom", dicoms.jpeg_dicom(dicoms.jpeg(claim=(65535, 65535)))),
            ("rows_0.dcm", "right_dicom", dicoms.build(rows=0, pixel_data=b"")),
            ("bomb.dcm", "left_dicom", dicoms.bomb()),
            ("raises.jpg", "left", fundus_jpeg(1)),
            ("kills.jpg", "right", fundus_jpeg(2)),
            ("good.jpg", "left", fundus_jpeg(3)),
        ],
    )
    directs = direct_jobs(client, camera, ["raises.jpg", "kills.jpg", "good.jpg"])
    run_ready_tasks()

    reap_for(clock, HOUR, settings.FUNDUSHUB_REAPER_INTERVAL)

    rows = {}
    for name, record in cameras.items():
        rows[f"camera {name}"] = DBTaskResult.objects.filter(
            task_path=TASK_PATH, args_kwargs__args__0=record.pk
        ).count()
        record.refresh_from_db()
        assert record.image_state != "pending", name
    for name, job in directs.items():
        rows[f"direct {name}"] = DBTaskResult.objects.filter(
            args_kwargs__args__0=str(job.id)
        ).count()
        assert not job.items.filter(state__in=[ItemState.QUEUED, ItemState.PROCESSING]).exists()
    print(
        f"\ntask rows per file after an hour of reaping (simulated clock, lease "
        f"{settings.FUNDUSHUB_ITEM_LEASE_SECONDS} s, reaper every "
        f"{settings.FUNDUSHUB_REAPER_INTERVAL} s, {settings.FUNDUSHUB_MAX_ATTEMPTS} attempts):"
    )
    for name, count in rows.items():
        print(f"  {name:<26} {count}")
    assert max(rows.values()) <= settings.FUNDUSHUB_MAX_ATTEMPTS

    states = {n: (r.image_state, r.image_attempts) for n, r in cameras.items()}
    assert states == {
        "bomb_frame.dcm": ("no_preview", 1),
        "rows_0.dcm": ("no_preview", 1),
        "bomb.dcm": ("no_preview", 1),
        "raises.jpg": ("error", 3),
        "kills.jpg": ("error", 3),
        "good.jpg": ("stored", 1),
    }
    items = {i.filename: (i.state, i.attempts) for i in UploadItem.objects.all()}
    assert items == {
        "raises.jpg": (ItemState.ERROR, 3),
        "kills.jpg": (ItemState.ERROR, 3),
        "good.jpg": (ItemState.COMPLETED, 1),
    }


def test_rows_stop_growing_once_every_bad_file_has_ended(camera, clock, sabotage, settings):
    camera_files(
        camera, [("kills.jpg", "left", fundus_jpeg(4)), ("raises.jpg", "right", fundus_jpeg(5))]
    )
    run_ready_tasks()
    reap_for(clock, HOUR, settings.FUNDUSHUB_REAPER_INTERVAL)
    after_one_hour = DBTaskResult.objects.count()
    reap_for(clock, 2 * HOUR, settings.FUNDUSHUB_REAPER_INTERVAL)
    assert DBTaskResult.objects.count() == after_one_hour
