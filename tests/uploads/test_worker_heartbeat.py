"""Workers say they are alive; pages can then tell "processing" from "nobody is processing"."""

import signal
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from fundushub.uploads import heartbeat
from fundushub.uploads.models import WorkerHeartbeat
from tests.conftest import start_worker, worker_heartbeat


def test_a_beat_refreshes_one_row_per_worker(db):
    started = timezone.now()
    heartbeat.beat("w1", started)
    first = WorkerHeartbeat.objects.get().seen_at
    heartbeat.beat("w1", started)
    assert WorkerHeartbeat.objects.count() == 1
    assert WorkerHeartbeat.objects.get().seen_at >= first


def test_workers_gone_for_a_day_are_forgotten(db):
    worker_heartbeat(seconds_ago=2 * 86400)
    heartbeat.beat("w1", timezone.now())
    assert list(WorkerHeartbeat.objects.values_list("worker_id", flat=True)) == ["w1"]


def test_a_worker_counts_as_seen_only_within_the_stale_limit(db, settings):
    settings.FUNDUSHUB_WORKER_STALE_SECONDS = 60
    assert not heartbeat.worker_seen()
    worker_heartbeat(seconds_ago=61)
    assert not heartbeat.worker_seen()
    worker_heartbeat(seconds_ago=59)
    assert heartbeat.worker_seen()


def test_the_heartbeat_thread_beats_until_it_is_stopped(db, monkeypatch):
    import threading

    beats = []
    monkeypatch.setattr(heartbeat, "BEAT_SECONDS", 0.01)
    monkeypatch.setattr(heartbeat, "beat", lambda *args: beats.append(args))
    monkeypatch.setattr(heartbeat.connection, "close", lambda: None)
    stop = threading.Event()
    thread = threading.Thread(target=heartbeat.beat_periodically, args=(stop, "w", None))
    thread.start()
    deadline = time.monotonic() + 30  # only guards against a thread that never beats
    while len(beats) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    thread.join(30)
    assert not thread.is_alive() and len(beats) >= 3


@pytest.mark.django_db(transaction=True)
def test_a_running_worker_process_records_its_heartbeat(isolated_storage):
    worker = start_worker(isolated_storage)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            row = WorkerHeartbeat.objects.filter(pid=worker.pid).first()
            if row:
                break
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGINT)
        output = worker.communicate(timeout=15)[0].decode(errors="replace")
    assert row is not None, f"the worker never beat; it said:\n{output}"
    assert timezone.now() - row.seen_at < timedelta(seconds=30)
