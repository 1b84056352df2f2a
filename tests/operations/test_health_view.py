"""/health/live and /health/ready: JSON with 200/503 and a reason per check, for load balancers."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from fundushub.uploads.models import ItemState, UploadItem, UploadJob
from tests.conftest import worker_heartbeat

SECRET_HOST = "db-internal.example.org"


def queued_item(world, uploaded_seconds_ago: float = 0) -> UploadItem:
    job = UploadJob.objects.create(
        user=world.alice,
        hospital=world.st_lucia,
        lab_unit=world.retina,
        camera=world.topcon,
        disease=world.dr,
        area=world.left,
    )
    created = timezone.now() - timedelta(seconds=uploaded_seconds_ago)
    UploadJob.objects.filter(pk=job.pk).update(created_at=created)
    return UploadItem.objects.create(job=job, position=0, filename="a.jpg", state=ItemState.QUEUED)


def ready(client):
    response = client.get("/health/ready")
    assert response["Content-Type"] == "application/json"
    return response.status_code, response.json()


def test_live_answers_200_without_the_database(client):
    # No `db` fixture: any query would fail the test.
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "live"}
    assert "no-cache" in response["Cache-Control"]


def test_ready_answers_200_when_every_check_passes(client, world):
    queued_item(world)
    worker_heartbeat(seconds_ago=5)
    status, body = ready(client)
    assert status == 200, body
    assert body["status"] == "ready"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok",
        "storage": "ok",
        "queue": "ok",
        "worker": "ok",
    }
    assert body["checks"]["queue"]["items_queued"] == 1


def test_ready_is_ready_without_a_worker_while_nothing_waits(client, db):
    status, body = ready(client)
    assert status == 200, body
    assert body["checks"]["worker"]["reason"] == "nothing waiting"
    assert body["checks"]["worker"]["heartbeat_age_seconds"] is None


def test_ready_answers_503_naming_the_database_when_it_is_unreachable(client, db):
    refused = OperationalError(f'connection to server at "{SECRET_HOST}" failed: password wrong')
    with mock.patch.object(connection, "ensure_connection", side_effect=refused):
        status, body = ready(client)
    assert status == 503
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == {
        "status": "fail",
        "reason": "database unreachable (OperationalError)",
    }
    assert body["checks"]["worker"]["reason"] == "needs the database"
    assert SECRET_HOST not in str(body)


def test_ready_answers_503_when_storage_cannot_be_written(client, db, isolated_storage):
    denied = PermissionError(f"[Errno 13] Permission denied: '{isolated_storage}/health/x'")
    with mock.patch("fundushub.operations.checks.blobs.write_bytes", side_effect=denied):
        status, body = ready(client)
    assert status == 503
    assert body["checks"]["storage"] == {
        "status": "fail",
        "reason": "storage write failed (PermissionError)",
    }
    assert str(isolated_storage) not in str(body)


def test_ready_answers_503_when_storage_gives_back_other_bytes(client, db):
    with mock.patch("fundushub.operations.checks.blobs.open_blob") as open_blob:
        open_blob.return_value.__enter__.return_value.read.return_value = b"something else"
        status, body = ready(client)
    assert status == 503
    assert body["checks"]["storage"]["reason"] == "storage read back different bytes"


def test_the_storage_probe_leaves_no_blob_behind(client, db, isolated_storage):
    assert ready(client)[0] == 200
    probes = isolated_storage / "health"
    assert probes.is_dir()  # it did write there
    assert list(probes.iterdir()) == []


@pytest.mark.parametrize("seen_seconds_ago", [None, 600], ids=["no worker ever", "stale worker"])
def test_ready_answers_503_when_items_wait_and_no_worker_beats(
    client, world, settings, seen_seconds_ago
):
    settings.FUNDUSHUB_HEALTH_HEARTBEAT_MAX_AGE = 60
    queued_item(world)
    if seen_seconds_ago is not None:
        worker_heartbeat(seconds_ago=seen_seconds_ago)
    status, body = ready(client)
    assert status == 503
    worker = body["checks"]["worker"]
    assert worker["status"] == "fail"
    if seen_seconds_ago is None:
        assert worker["reason"] == "no worker has been seen, and 1 waiting"
    else:
        assert worker["reason"].startswith("no worker heartbeat for 60")
        assert worker["heartbeat_age_seconds"] >= 600
    assert body["checks"]["database"]["status"] == "ok"


def test_ready_answers_503_when_the_oldest_waiting_item_is_over_the_age_limit(
    client, world, settings
):
    settings.FUNDUSHUB_HEALTH_MAX_QUEUE_AGE_SECONDS = 3600
    queued_item(world, uploaded_seconds_ago=7200)
    worker_heartbeat(seconds_ago=1)
    status, body = ready(client)
    assert status == 503
    queue = body["checks"]["queue"]
    assert queue["status"] == "fail"
    assert queue["reason"].endswith("more than the limit of 3600 s")
    assert queue["oldest_waiting_seconds"] >= 7200


def test_ready_answers_503_when_more_wait_than_the_depth_limit(client, world, settings):
    settings.FUNDUSHUB_HEALTH_MAX_QUEUE_DEPTH = 1
    queued_item(world)
    queued_item(world)
    worker_heartbeat(seconds_ago=1)
    status, body = ready(client)
    assert status == 503
    assert body["checks"]["queue"]["reason"] == "2 waiting, more than the limit of 1"


def test_probes_answer_any_host_over_plain_http_in_production(client, db, settings):
    # A load balancer reaches each node by its address; HTTPS=true would redirect it.
    settings.ALLOWED_HOSTS = ["hub.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/health/live", HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert client.get("/health/ready", HTTP_HOST="10.0.0.7:8000").status_code == 200
    assert client.get("/accounts/login/", HTTP_HOST="10.0.0.7:8000").status_code == 400
    assert client.get("/accounts/login/", HTTP_HOST="hub.example.org").status_code == 301


def test_probes_refuse_to_be_posted_to(client, db):
    assert client.post("/health/ready").status_code == 405
    assert client.post("/health/live").status_code == 405
