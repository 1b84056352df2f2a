"""/metrics: Prometheus text for staff and the token holder, a plain 404 for anyone else."""

import logging
import subprocess
import sys
from datetime import timedelta
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from fundushub.camera.models import CameraDevice, CameraFile, CameraSession, Subject
from fundushub.uploads.models import ItemState, UploadItem, UploadJob
from fundushub.uploads.tasks import process_job
from tests.camera.conftest import issue_token
from tests.conftest import form_data, fundus_jpeg, run_worker, worker_heartbeat

TOKEN = "s3cret-metrics-token-0123456789"


@pytest.fixture
def token(settings):
    settings.FUNDUSHUB_METRICS_TOKEN = TOKEN
    return TOKEN


def scrape(client, bearer=TOKEN, **extra) -> dict:
    """Every sample of a scrape, by (name, labels)."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {bearer}", **extra)
    assert response.status_code == 200, response.content
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def job_with_items(world, *states) -> UploadJob:
    job = UploadJob.objects.create(
        user=world.alice,
        hospital=world.st_lucia,
        lab_unit=world.retina,
        camera=world.topcon,
        disease=world.dr,
        area=world.left,
    )
    for position, state in enumerate(states):
        UploadItem.objects.create(
            job=job, position=position, filename=f"{position}.jpg", state=state
        )
    return job


def test_anonymous_visitors_get_a_plain_404(client, db, token):
    assert client.get("/metrics").status_code == 404


@pytest.mark.parametrize("header", [f"Bearer {TOKEN}x", "Bearer ", f"Token {TOKEN}", TOKEN])
def test_a_wrong_token_gets_a_plain_404(client, db, token, header):
    assert client.get("/metrics", HTTP_AUTHORIZATION=header).status_code == 404


def test_without_a_configured_token_no_bearer_gets_in(client, db, settings):
    settings.FUNDUSHUB_METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer x").status_code == 404


def test_signed_in_users_who_are_not_staff_get_a_plain_404(client, world):
    client.force_login(world.mary)
    assert client.get("/metrics").status_code == 404


def test_staff_get_the_metrics(client, world):
    client.force_login(world.root)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert b"fundushub_database_up 1.0" in response.content


def test_the_right_token_gets_the_metrics_from_any_host_over_plain_http(
    client, db, token, settings
):
    # Prometheus scrapes each node by its address; HTTPS=true would redirect it.
    settings.ALLOWED_HOSTS = ["hub.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    assert value(scrape(client, HTTP_HOST="10.0.0.7:8000"), "fundushub_database_up") == 1


def test_requests_are_counted_per_route_name_not_per_path(client, world, token):
    job = job_with_items(world, ItemState.QUEUED)
    client.force_login(world.alice)
    live = {"route": "operations:live", "method": "GET", "status": "200"}
    before = scrape(client)
    client.get("/health/live")
    client.get("/health/live")
    client.get(f"/api/upload-jobs/{job.id}/status")
    after = scrape(client)
    name = "fundushub_http_requests_total"
    assert value(after, name, **live) - value(before, name, **live) == 2
    routes = {dict(labels)["route"] for n, labels in after if n == name}
    assert "api-job-status" in routes, routes
    assert not any(str(job.id) in route for route in routes)
    duration = "fundushub_http_request_duration_seconds_count"
    assert value(after, duration, route="operations:live", method="GET") >= 2


def test_item_state_gauges_match_the_database(client, world, token):
    job_with_items(world, ItemState.QUEUED, ItemState.QUEUED, ItemState.ERROR)
    job_with_items(world, ItemState.COMPLETED)
    samples = scrape(client)
    counts = {state: value(samples, "fundushub_upload_items", state=state) for state in ItemState}
    assert counts == {"queued": 2, "processing": 0, "completed": 1, "duplicate": 0, "error": 1}


def test_camera_file_gauges_count_image_states_and_recent_uploads_per_device(client, world, token):
    issue_token("RET-CAM-001", world.retina)
    device = CameraDevice.objects.get(device_id="RET-CAM-001")
    subject = Subject.objects.create(subject_identifier="105-10-0989-3", site=world.st_lucia)
    session = CameraSession.objects.create(subject=subject, hospital=world.st_lucia, device=device)
    for name, state in [("l.jpg", "pending"), ("r.jpg", "stored"), ("x.pdf", "none")]:
        CameraFile.objects.create(
            session=session,
            file_type="left",
            original_filename=name,
            size=1,
            sha256="0" * 64,
            md5="0" * 32,
            mime="image/jpeg",
            capture_datetime=timezone.now(),
            device=device,
            image_state=state,
        )
    old = CameraFile.objects.get(original_filename="x.pdf")
    CameraFile.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=2))
    samples = scrape(client)
    assert value(samples, "fundushub_camera_files", image_state="pending") == 1
    assert value(samples, "fundushub_camera_files", image_state="stored") == 1
    assert value(samples, "fundushub_camera_files", image_state="error") == 0
    assert value(samples, "fundushub_camera_uploads_recent", device="RET-CAM-001") == 2


def test_queue_depth_and_age_count_waiting_tasks_and_items(client, world, token):
    job = job_with_items(world, ItemState.QUEUED, ItemState.QUEUED, ItemState.PROCESSING)
    UploadJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=1))
    process_job.enqueue(str(job.id))
    samples = scrape(client)
    assert value(samples, "fundushub_queue_depth", queue="upload_items") == 2
    assert value(samples, "fundushub_queue_depth", queue="tasks") == 1
    assert value(samples, "fundushub_queue_oldest_age_seconds", queue="upload_items") >= 3600


def test_worker_heartbeats_show_their_age_per_host(client, db, token):
    worker_heartbeat(seconds_ago=30)
    samples = scrape(client)
    assert value(samples, "fundushub_worker_heartbeat_age_seconds", host="h") >= 30
    assert value(samples, "fundushub_workers_alive") == 1


def test_processing_time_is_observed_per_item_by_outcome(client, world, token):
    name = "fundushub_item_processing_seconds_count"
    before = value(scrape(client), name, state="completed")
    client.force_login(world.alice)
    files = [SimpleUploadedFile(f"{i}.jpg", fundus_jpeg(i), "image/jpeg") for i in range(2)]
    assert client.post("/direct/upload", {**form_data(world), "files": files}).status_code == 303
    run_worker()
    assert value(scrape(client), name, state="completed") - before == 2


def test_an_unreachable_database_is_reported_as_a_gauge_not_an_error(client, db, token):
    broken = mock.patch(
        "fundushub.operations.collector._states", side_effect=OperationalError("down")
    )
    with broken:
        samples = scrape(client)
    assert value(samples, "fundushub_database_up") == 0
    assert ("fundushub_upload_items", frozenset({("state", "queued")})) not in samples


def test_processes_sharing_the_multiprocess_folder_are_summed(
    client, db, token, tmp_path, monkeypatch
):
    # A worker process records its items' times in the shared folder; the web process sums them.
    folder = tmp_path / "prometheus"
    folder.mkdir()
    code = "from fundushub.uploads import processing_time as p; p.observe('duplicate', 0.3)"
    for _ in range(2):
        env = {"PROMETHEUS_MULTIPROC_DIR": str(folder), "PATH": ""}
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    samples = scrape(client)
    assert value(samples, "fundushub_item_processing_seconds_count", state="duplicate") == 2
    assert value(samples, "fundushub_database_up") == 1


def test_the_token_never_reaches_the_logs(client, db, token, caplog):
    caplog.set_level(logging.DEBUG)
    client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}-wrong")
    client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", HTTP_HOST="evil.example")
    assert caplog.records  # the 404 and the request lines were logged
    assert TOKEN not in caplog.text
