"""Is any worker alive? Each worker refreshes a row every few seconds; pages read the newest one.

A job whose files wait while no worker has been seen for FUNDUSHUB_WORKER_STALE_SECONDS says so
("Waiting for a worker — ask your administrator") instead of showing "Processing" for ever.
"""

import logging
import os
import socket
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from fundushub.uploads.models import WorkerHeartbeat

log = logging.getLogger(__name__)

WAITING_FOR_WORKER = "Waiting for a worker — ask your administrator"
BEAT_SECONDS = 10
FORGET_AFTER = timedelta(days=1)  # rows of workers gone this long are removed


def beat(worker_id: str, started_at) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "host": socket.gethostname()[:255],
            "pid": os.getpid(),
            "started_at": started_at,
            "seen_at": now,
        },
    )
    WorkerHeartbeat.objects.filter(seen_at__lt=now - FORGET_AFTER).delete()


def beat_periodically(stop: threading.Event, worker_id: str, started_at) -> None:
    """The worker's heartbeat thread: a beat now and every BEAT_SECONDS until `stop` is set."""
    while True:
        try:
            close_old_connections()
            beat(worker_id, started_at)
        except Exception:
            log.exception("Could not record the worker's heartbeat; trying again later")
        if stop.wait(BEAT_SECONDS):
            break
    connection.close()


def worker_seen() -> bool:
    """Whether some worker has beaten within FUNDUSHUB_WORKER_STALE_SECONDS."""
    since = timezone.now() - timedelta(seconds=settings.FUNDUSHUB_WORKER_STALE_SECONDS)
    return WorkerHeartbeat.objects.filter(seen_at__gte=since).exists()


def waiting_for_worker(summary: dict) -> bool:
    """A job with files still to process, and no worker alive to process them."""
    return not summary["finished"] and not worker_seen()
