"""Gauges read from the database at scrape time, so every web process reports the same truth
however many processes and machines do the work (a counter kept in one process could not)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from fundushub.camera.models import CameraFile
from fundushub.operations.queue import heartbeat_seconds_by_host, queue
from fundushub.uploads.models import ItemState, UploadItem, WorkerHeartbeat

log = logging.getLogger(__name__)

NO_DEVICE = "none"  # a camera file whose device was deleted, or sent before devices were named


def _gauge(name: str, doc: str, label: str, values: dict) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for key, value in values.items():
        family.add_metric([key], value)
    return family


def _by(queryset, field: str) -> dict[str, int]:
    rows = queryset.values(field).annotate(n=Count("pk")).order_by()
    return {row[field]: row["n"] for row in rows}


def _states() -> list[GaugeMetricFamily]:
    items = dict.fromkeys(ItemState.values, 0) | _by(UploadItem.objects, "state")
    choices = CameraFile._meta.get_field("image_state").choices
    files = dict.fromkeys((value for value, _ in choices), 0)
    files |= _by(CameraFile.objects, "image_state")
    return [
        _gauge("fundushub_upload_items", "Direct-upload items by state", "state", items),
        _gauge("fundushub_camera_files", "Camera files by image state", "image_state", files),
    ]


def _queue() -> list[GaugeMetricFamily]:
    q = queue(timezone.now())
    depth = {"tasks": q.tasks_waiting, "upload_items": q.items_queued}
    oldest = {"tasks": q.oldest_task_seconds or 0, "upload_items": q.oldest_item_seconds or 0}
    return [
        _gauge(
            "fundushub_queue_depth",
            "Work waiting for a worker: ready task rows, and upload items queued",
            "queue",
            depth,
        ),
        _gauge(
            "fundushub_queue_oldest_age_seconds",
            "How long the oldest waiting work has waited (an upload item: since its upload); "
            "0 when nothing waits",
            "queue",
            oldest,
        ),
    ]


def _workers() -> list[GaugeMetricFamily]:
    now = timezone.now()
    since = now - timedelta(seconds=settings.FUNDUSHUB_WORKER_STALE_SECONDS)
    alive = WorkerHeartbeat.objects.filter(seen_at__gte=since).count()
    return [
        _gauge(
            "fundushub_worker_heartbeat_age_seconds",
            "Seconds since the newest heartbeat of a worker on each host",
            "host",
            heartbeat_seconds_by_host(now),
        ),
        GaugeMetricFamily(
            "fundushub_workers_alive",
            "Workers whose heartbeat is within FUNDUSHUB_WORKER_STALE_SECONDS",
            value=alive,
        ),
    ]


def _camera_uploads() -> list[GaugeMetricFamily]:
    window = settings.FUNDUSHUB_METRICS_CAMERA_WINDOW_SECONDS
    since = timezone.now() - timedelta(seconds=window)
    recent = _by(CameraFile.objects.filter(received_at__gte=since), "device__device_id")
    per_device = {(device or NO_DEVICE): n for device, n in recent.items()}
    return [
        _gauge(
            "fundushub_camera_uploads_recent",
            "Camera files received per device within the last "
            "FUNDUSHUB_METRICS_CAMERA_WINDOW_SECONDS",
            "device",
            per_device,
        ),
        GaugeMetricFamily(
            "fundushub_camera_uploads_window_seconds",
            "The window fundushub_camera_uploads_recent counts over",
            value=window,
        ),
    ]


class DatabaseCollector:
    """Every database-derived gauge; a database that cannot answer is database_up 0, not a 500."""

    def collect(self):
        families = []
        try:
            for part in (_states, _queue, _workers, _camera_uploads):
                families += part()
            up = 1
        except Exception:
            log.warning("Metrics: could not read the database", exc_info=True)
            families, up = [], 0
        yield from families
        yield GaugeMetricFamily(
            "fundushub_database_up", "1 when the database answered this scrape's queries", value=up
        )
