"""Background work: process a job's items, and give expired claims back to the queue.

django-tasks never re-runs a task whose worker died, so items carry their own lease: a claimed
item not finished before its lease ends is re-queued by reclaim_expired(), which every worker
runs at start and then periodically. Every claim is an attempt, whether it ends in an exception
or in a dead worker: after FUNDUSHUB_MAX_ATTEMPTS of them the item ends as an error, in words.
"""

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django_tasks import task

from fundushub.lib.statelog import state_changed
from fundushub.lib.tasks import failure_reason, gave_up, task_waiting
from fundushub.uploads import processing_time
from fundushub.uploads.ingest import (
    LostLease,
    discard_staged,
    give_back_held_quota,
    process_item,
)
from fundushub.uploads.models import ItemState, UploadItem

log = logging.getLogger(__name__)

WORKER_STOPPED = "the worker stopped while handling this file"


def claim_next(job_id) -> UploadItem | None:
    """Claim the job's next queued item with a conditional UPDATE; None when nothing is left."""
    lease = timedelta(seconds=settings.FUNDUSHUB_ITEM_LEASE_SECONDS)
    while True:
        pk = (
            UploadItem.objects.filter(job_id=job_id, state=ItemState.QUEUED)
            .order_by("attempts", "position")  # a file being retried waits for the others
            .values_list("pk", flat=True)
            .first()
        )
        if pk is None:
            return None
        claimed = UploadItem.objects.filter(pk=pk, state=ItemState.QUEUED).update(
            state=ItemState.PROCESSING,
            lease_until=timezone.now() + lease,
            attempts=F("attempts") + 1,
        )
        if claimed:
            item = UploadItem.objects.select_related("job", "job__user").get(pk=pk)
            _changed(item, ItemState.PROCESSING)
            return item


TASK_PATH = "fundushub.uploads.tasks.process_job"


@task()
def process_job(job_id: str) -> dict:
    done = {}
    while item := claim_next(job_id):
        started = time.perf_counter()
        try:
            state = process_item(item)
        except LostLease:
            log.warning("Item %s of job %s was re-claimed by another worker", item.pk, job_id)
            continue
        except Exception as e:
            log.exception("Item %s of job %s failed (attempt %d)", item.pk, job_id, item.attempts)
            state = _failed(item, failure_reason(e))
        processing_time.observe(state, time.perf_counter() - started)
        done[state] = done.get(state, 0) + 1
    return done


def _failed(item: UploadItem, reason: str) -> str:
    """An exception is an attempt: queue the item again, or end it as an error after the last."""
    mine = UploadItem.objects.filter(pk=item.pk, state=ItemState.PROCESSING, attempts=item.attempts)
    if item.attempts < settings.FUNDUSHUB_MAX_ATTEMPTS:
        detail = f"Attempt {item.attempts} failed: {reason}"[:300]
        if mine.update(state=ItemState.QUEUED, lease_until=None, detail=detail):
            _changed(item, ItemState.QUEUED)
        return ItemState.QUEUED
    if mine.update(
        state=ItemState.ERROR,
        detail=gave_up(item.attempts, reason),
        finished_at=timezone.now(),
        lease_until=None,
        staged_key="",
    ):
        _changed(item, ItemState.ERROR)
        discard_staged(item.staged_key)
    return ItemState.ERROR


def _changed(item: UploadItem, state: str) -> None:
    state_changed("upload_item", state, job_id=item.job_id, item_id=item.pk, attempt=item.attempts)


def reclaim_expired() -> int:
    """Give the work of dead workers back to the queue; returns how many items were re-queued.

    Two cases: an item claimed but not finished before its lease ended, and a job whose task
    died between two items, leaving queued items that no task will ever pick up.
    """
    now = timezone.now()
    expired = UploadItem.objects.filter(state=ItemState.PROCESSING, lease_until__lt=now)
    last = expired.filter(attempts__gte=settings.FUNDUSHUB_MAX_ATTEMPTS)
    with transaction.atomic():
        # Only jobs with an item to run again need a task; a file that used its last attempt ends.
        job_ids = set(
            expired.filter(attempts__lt=settings.FUNDUSHUB_MAX_ATTEMPTS).values_list(
                "job_id", flat=True
            )
        )
        given_up = list(last.values_list("pk", "attempts", "staged_key", "job_id"))
        for pk, attempts, _, job_id in given_up:
            if last.filter(pk=pk).update(
                state=ItemState.ERROR,
                detail=gave_up(attempts, WORKER_STOPPED),
                finished_at=now,
                lease_until=None,
                staged_key="",
            ):
                state_changed("upload_item", ItemState.ERROR, job_id=job_id, item_id=pk)
        give_back_held_quota([pk for pk, *_ in given_up])  # their files were never stored
        requeued = list(expired.values_list("job_id", "pk"))
        count = expired.update(state=ItemState.QUEUED, lease_until=None)
        for job_id, pk in requeued:
            state_changed("upload_item", ItemState.QUEUED, job_id=job_id, item_id=pk)
        job_ids |= _abandoned_jobs(now)
        for job_id in job_ids:
            process_job.enqueue(str(job_id))
    for _, _, staged_key, _ in given_up:
        discard_staged(staged_key)
    if job_ids:
        log.info("Re-queued %d item(s) in %d job(s) whose worker stopped", count, len(job_ids))
    return count


def _abandoned_jobs(now) -> set:
    """Jobs with queued items, nothing in progress, no task waiting, and idle for a lease period."""
    idle_since = now - timedelta(seconds=settings.FUNDUSHUB_ITEM_LEASE_SECONDS)
    candidates = (
        UploadItem.objects.filter(state=ItemState.QUEUED, job__created_at__lt=idle_since)
        .values_list("job_id", flat=True)
        .distinct()
    )
    abandoned = set()
    for job_id in candidates:
        items = UploadItem.objects.filter(job_id=job_id)
        if items.filter(state=ItemState.PROCESSING).exists():
            continue
        if items.filter(finished_at__gte=idle_since).exists():
            continue
        if task_waiting(TASK_PATH, str(job_id)):
            continue
        abandoned.add(job_id)
    return abandoned
