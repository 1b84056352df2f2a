"""The task worker: django-tasks-db's worker, the heartbeat, and the reaper that re-queues the
work of dead workers (upload items, camera images and image checks).

django-tasks-db's worker takes the ready task of highest priority first (then the oldest): the
checks (priority -10) run only while no file waits to be stored (priority 0)."""

import logging
import threading

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from fundushub.camera.tasks import requeue_stale
from fundushub.checks import queue as checks_queue
from fundushub.uploads.heartbeat import beat, beat_periodically
from fundushub.uploads.tasks import reclaim_expired

log = logging.getLogger(__name__)


def reap() -> None:
    """Give the work of dead workers back to the queue: upload items, camera images, checks."""
    reclaim_expired()
    requeue_stale(settings.FUNDUSHUB_ITEM_LEASE_SECONDS)
    checks_queue.requeue_stale()


def _reap_periodically(stop: threading.Event, interval: float) -> None:
    while not stop.wait(interval):
        try:
            close_old_connections()
            reap()
        except Exception:
            log.exception("Re-queueing expired items failed; trying again later")
    connection.close()


class Command(BaseCommand):
    help = (
        "Run the background worker that processes uploads (validate, store, thumbnail) and "
        "then checks the stored images. "
        "Run several on one or many machines to go faster; they share the database queue."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--once", action="store_true", help="process everything pending, then exit"
        )
        parser.add_argument(
            "--interval", type=float, default=0.5, help="seconds between polls when idle"
        )

    def handle(self, *args, once=False, interval=0.5, **options):
        for name in ("django_tasks", "django_tasks_db"):  # one line per task is noise
            logging.getLogger(name).setLevel(logging.WARNING)
        reap()
        stop = threading.Event()
        reaper = threading.Thread(
            target=_reap_periodically,
            args=(stop, settings.FUNDUSHUB_REAPER_INTERVAL),
            name="reaper",
            daemon=True,
        )
        if not once:
            reaper.start()
        worker_id, started_at = get_random_string(32), timezone.now()
        # Pages tell users when no worker is alive; a thread, so a long file never stops the beat.
        heart = threading.Thread(
            target=beat_periodically,
            args=(stop, worker_id, started_at),
            name="heartbeat",
            daemon=True,
        )
        if once:
            beat(worker_id, started_at)
        else:
            heart.start()
        worker = Worker(
            queue_names=["default"],
            interval=interval,
            batch=once,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=worker_id,
            excluded_queue_names=[],
        )
        if not once:
            worker.configure_signals()
        self.stdout.write("Worker ready." if not once else "Processing pending work...")
        try:
            worker.run()
        finally:
            stop.set()
