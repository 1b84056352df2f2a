"""The work waiting for a worker, and when workers were last seen, as the database tells it.

Two kinds of waiting work: task rows django-tasks-db holds ready to run (a job's task, a camera
image's task), and upload items still queued (a job's task works through them one by one). Both
readiness and the metrics read these figures, at the moment they are asked.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max, Min
from django_tasks_db.models import DBTaskResult

from fundushub.uploads.models import ItemState, UploadItem, WorkerHeartbeat


@dataclass(frozen=True)
class Queue:
    tasks_waiting: int
    items_queued: int
    oldest_task_seconds: float | None
    # An item has no time of its own in the queue: its job's upload time stands for it.
    oldest_item_seconds: float | None

    @property
    def waiting(self) -> int:
        return self.tasks_waiting + self.items_queued

    @property
    def oldest_seconds(self) -> float | None:
        ages = [a for a in (self.oldest_task_seconds, self.oldest_item_seconds) if a is not None]
        return max(ages, default=None)


def _age(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds())


def queue(now: datetime) -> Queue:
    tasks = DBTaskResult.objects.ready().order_by()
    items = UploadItem.objects.filter(state=ItemState.QUEUED).order_by()
    return Queue(
        tasks_waiting=tasks.count(),
        items_queued=items.count(),
        oldest_task_seconds=_age(now, tasks.aggregate(t=Min("enqueued_at"))["t"]),
        oldest_item_seconds=_age(now, items.aggregate(t=Min("job__created_at"))["t"]),
    )


def heartbeat_seconds(now: datetime) -> float | None:
    """Seconds since the newest heartbeat of any worker; None when no worker has been seen."""
    return _age(now, WorkerHeartbeat.objects.aggregate(t=Max("seen_at"))["t"])


def heartbeat_seconds_by_host(now: datetime) -> dict[str, float]:
    """Seconds since each machine's newest worker heartbeat (rows of workers gone a day are gone)."""
    rows = WorkerHeartbeat.objects.values("host").annotate(t=Max("seen_at")).order_by()
    return {row["host"]: _age(now, row["t"]) for row in rows}
