"""A small shared test world: two hospitals, alice (uploader) and bob (uploader elsewhere),
mary (data manager) and root (admin), and helpers that make real JPEG/PNG bytes."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image as PILImage
from PIL import ImageDraw

from fundushub.accounts import roles
from fundushub.accounts.models import User
from fundushub.catalog.models import Area, Camera, Disease, Hospital, LabUnit
from fundushub.catalog.reference import load_reference_data
from fundushub.grading.defaults import ensure_defaults
from tests import s3

ROOT = Path(__file__).resolve().parent.parent
OUTPUT_DIR = ROOT / "test-output"


def fundus_jpeg(seed: int = 0, size=(640, 480), quality=85) -> bytes:
    """A fundus-like picture (orange disc on black) whose bytes differ per seed."""
    im = PILImage.new("RGB", size, (0, 0, 0))
    d = ImageDraw.Draw(im)
    w, h = size
    d.ellipse((w * 0.1, 0, w * 0.9, h), fill=(170 + seed % 60, 70 + seed % 40, 30))
    d.ellipse((w * 0.6, h * 0.4, w * 0.7, h * 0.55), fill=(240, 200, 120))
    d.text((10, 10), f"seed {seed}", fill=(255, 255, 255))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=quality)
    return out.getvalue()


def noisy_jpeg(seed: int = 0, size=(1600, 1200), quality=95) -> bytes:
    """A large, hard-to-compress JPEG (sensor noise), for size-limit tests."""
    noise = PILImage.effect_noise(size, 60 + seed % 20).convert("RGB")
    out = io.BytesIO()
    noise.save(out, "JPEG", quality=quality)
    return out.getvalue()


def fundus_png(seed: int = 0, size=(320, 240)) -> bytes:
    im = PILImage.new("RGB", size, (seed % 255, 60, 20))
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The test world signs in a few users per test; production-strength hashing costs ~0.3 s each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items):
    s3.mark_storage_tests(items)  # before -m selects by marker


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A real S3 server (SeaweedFS) on loopback for the whole session (tests/s3.py)."""
    server = s3.SeaweedS3(tmp_path_factory.mktemp("seaweedfs")).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def isolated_storage(settings, tmp_path, request):
    """Every test gets its own media root (and staging dir beside it). Under
    FUNDUSHUB_TEST_STORAGE=s3 a test marked `storage` gets its own prefix in a bucket instead
    (a tests.s3.BucketPath)."""
    media = tmp_path / "media"
    (media / "staging").mkdir(parents=True)
    settings.MEDIA_ROOT = media
    settings.FILE_UPLOAD_TEMP_DIR = str(media / "staging")
    if s3.wanted() and request.node.get_closest_marker("storage"):
        return s3.use_bucket(settings, request.getfixturevalue("s3_server"), media)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(media), "allow_overwrite": True},
        },
    }
    return media


class World:
    pass


@pytest.fixture
def world(db):
    load_reference_data()
    # The default schemes and programmes come by data migration; a transactional test empties them.
    ensure_defaults()
    roles.ensure_role_groups()
    w = World()
    w.st_lucia = Hospital.objects.create(name="St Lucia")
    w.northgate = Hospital.objects.create(name="Northgate")
    w.retina = LabUnit.objects.create(hospital=w.st_lucia, name="Retina")
    w.screening = LabUnit.objects.create(hospital=w.st_lucia, name="Screening")
    w.outpatients = LabUnit.objects.create(hospital=w.northgate, name="Outpatients")
    w.topcon = Camera.objects.create(name="Topcon TRC-NW400")
    w.canon = Camera.objects.create(name="Canon CR-2")
    w.dr = Disease.objects.get(code="DR")
    w.glaucoma = Disease.objects.get(code="Glaucoma")
    w.left = Area.objects.get(code="left")
    w.right = Area.objects.get(code="right")
    w.alice = make_user("alice", roles.UPLOADER, [w.retina])
    w.bob = make_user("bob", roles.UPLOADER, [w.outpatients])
    w.mary = make_user("mary", roles.DATA_MANAGER, [w.retina, w.screening])
    w.root = make_user("root", roles.ADMIN, [w.outpatients], superuser=True)
    w.gina = make_user("gina", roles.GRADER, [w.retina])
    return w


@pytest.fixture
def graders(world):
    """greg (a second grader of Retina) and sophie (a senior grader of Retina), beside gina."""
    world.greg = make_user("greg", roles.GRADER, [world.retina])
    world.sophie = make_user("sophie", roles.SENIOR_GRADER, [world.retina])
    return world


def examination_of(world, seed=0, subject="105-10-0989-3", eyes=("right", "left"), **fields):
    """An examination as an upload leaves it: one stored image per eye, filed by subject and day."""
    from fundushub.grading.examinations import file_image

    exam = None
    for n, eye in enumerate(eyes):
        area = getattr(world, eye) if eye else None
        image = store_image(world, seed * 10 + n, area=area, subject_identifier=subject, **fields)
        exam = file_image(image, brought_by_id=image.uploaded_by_id)
    return exam


@pytest.fixture
def same_hospital_other_unit_user(world):
    """sam (also world.sam): a data manager of St Lucia's Screening only. Retina's images and jobs
    are in his hospital but not his lab units, so they must not exist for him."""
    world.sam = make_user("sam", roles.DATA_MANAGER, [world.screening])
    return world.sam


def store_image(world, seed=0, *, user=None, lab_unit=None, data=None, **fields):
    """An image in the store as an upload leaves it: original blob, thumbnail, then the row.

    data: the original's bytes (default a fundus JPEG for seed); fields override the metadata.
    """
    import hashlib

    from fundushub.store import blobs
    from fundushub.store.intake import Incoming, add_image
    from fundushub.store.sniff import sniff

    data = data if data is not None else fundus_jpeg(seed)
    sha256 = hashlib.sha256(data).hexdigest()
    mime = sniff(data[:512])
    staged = f"staging/fixture-{sha256}"
    blobs.write_bytes(staged, data)
    lab_unit = lab_unit or world.retina
    row = {
        "source": "direct",
        "uploaded_by": user if user is not None else world.alice,
        "hospital_id": lab_unit.hospital_id,
        "lab_unit": lab_unit,
        "camera": world.topcon,
        "disease": world.dr,
        "area": world.left,
        "original_filename": f"fundus-{seed}.{'png' if mime.endswith('png') else 'jpg'}",
    }
    row.update(fields)
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    image, created = add_image(Incoming(sha256, md5, mime, len(data), key=staged), row)
    if not created:
        blobs.delete(staged)
    return image


def make_user(username, role, units, superuser=False, password="pw"):
    from django.contrib.auth.models import Group

    user = User.objects.create_user(username, password=password)
    user.is_superuser = user.is_staff = superuser
    user.save()
    user.groups.add(Group.objects.get(name=role))
    user.lab_units.set(units)
    return User.objects.get(pk=user.pk)


def form_data(world, **overrides):
    data = {
        "hospital": world.st_lucia.pk,
        "lab_unit": world.retina.pk,
        "camera": world.topcon.pk,
        "disease": world.dr.pk,
        "area": world.left.pk,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def run_worker() -> int:
    """Run every ready task in this process, as a worker would; returns how many ran.

    (The real worker loop closes the connection between tasks, which a test transaction forbids.)
    """
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    from fundushub.uploads.tasks import reclaim_expired

    reclaim_expired()
    worker = Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )
    ran = 0
    while task := DBTaskResult.objects.ready().order_by("enqueued_at").first():
        task.claim(worker.worker_id)
        worker.run_task(task)
        ran += 1
    return ran


def subprocess_env(media_root) -> dict:
    """Environment for a server/worker child process sharing this test's database and files."""
    from django.db import connection

    env = dict(os.environ)
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{s['NAME']}"
    else:
        env["DATABASE_URL"] = (
            f"postgres://{s['USER'] or ''}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
        )
    env["FUNDUSHUB_DATA_DIR"] = str(Path(getattr(media_root, "local", media_root)).parent)
    env.update(getattr(media_root, "environ", {}))  # on S3: the same bucket and prefix
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_worker(media_root, **extra_env) -> subprocess.Popen:
    env = subprocess_env(media_root)
    env.update({k: str(v) for k, v in extra_env.items()})
    return subprocess.Popen(
        [sys.executable, "-m", "fundushub", "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def worker_heartbeat(seconds_ago: float):
    """A worker last seen `seconds_ago` (the row a running worker refreshes every few seconds)."""
    from datetime import timedelta

    from django.utils import timezone

    from fundushub.uploads.models import WorkerHeartbeat

    seen = timezone.now() - timedelta(seconds=seconds_ago)
    return WorkerHeartbeat.objects.create(
        worker_id=f"w{seconds_ago}", host="h", pid=1, started_at=seen, seen_at=seen
    )
