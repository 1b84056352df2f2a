"""Queueing the checks of a stored image, and giving back the checks of a worker that died.

A new image is checked only once its row has committed (transaction.on_commit), so a rolled-back
store queues nothing. django-tasks-db never re-runs a task whose worker died (its row stays
RUNNING), so the reaper ends such tasks and queues the image again, at most
FUNDUSHUB_MAX_ATTEMPTS times; after that the image's missing checks end as "error" results.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from fundushub.checks.models import ImageCheck, Verdict
from fundushub.checks.registry import CHECKS
from fundushub.checks.tasks import check_image
from fundushub.lib.tasks import gave_up
from fundushub.store.models import Image

log = logging.getLogger(__name__)
TASK_PATH = check_image.module_path
WORKER_STOPPED = "fundushub.checks.queue.WorkerStopped"


def checks_on() -> bool:
    return settings.FUNDUSHUB_CHECKS and bool(CHECKS)


def check_when_stored(image) -> None:
    """Queue the image's checks once the transaction that stores it commits (call it inside)."""
    if not checks_on():
        return
    image_id = str(image.pk)
    # robust: a failed enqueue must not fail the store; run_checks back-fills the image later.
    transaction.on_commit(lambda: check_image.enqueue(image_id), robust=True)


def stale_after() -> timedelta:
    """How long a check task may run before its worker is taken for dead: the per-image budget
    (checks stop after it) with a wide margin, and never less than an upload item's lease."""
    seconds = max(settings.FUNDUSHUB_ITEM_LEASE_SECONDS, 4 * settings.FUNDUSHUB_CHECKS_SECONDS)
    return timedelta(seconds=seconds)


def attempts(image_id: str) -> int:
    """Times the image's checks were queued (each is a task row; the rows are the count)."""
    return DBTaskResult.objects.filter(task_path=TASK_PATH, args_kwargs__args__0=image_id).count()


def requeue_stale() -> int:
    """End the check tasks whose worker died and queue their images again; returns how many
    were queued again."""
    now = timezone.now()
    stale = DBTaskResult.objects.filter(
        task_path=TASK_PATH, status=TaskResultStatus.RUNNING, started_at__lt=now - stale_after()
    )
    count = 0
    for pk, args_kwargs in stale.values_list("pk", "args_kwargs"):
        count += _end_and_requeue(pk, args_kwargs["args"][0], now)
    return count


def _end_and_requeue(pk, image_id: str, now) -> bool:
    """End one task of a dead worker and queue its image again (or give up); True if queued."""
    with transaction.atomic():
        # Conditional: two reapers racing end the task, and queue its image, once.
        ended = DBTaskResult.objects.filter(pk=pk, status=TaskResultStatus.RUNNING).update(
            status=TaskResultStatus.FAILED,
            finished_at=now,
            exception_class_path=WORKER_STOPPED,
            traceback="The worker stopped while checking this image.",
        )
        if not ended:
            return False
        tries = attempts(image_id)
        if tries < settings.FUNDUSHUB_MAX_ATTEMPTS:
            check_image.enqueue(image_id)
            return True
        give_up(image_id, gave_up(tries, "the worker stopped while checking it"))
    return False


def give_up(image_id: str, reason: str) -> None:
    """Every check the image has no result for ends as an error, with the reason."""
    if not Image.objects.filter(pk=image_id).exists():
        return  # deleted meanwhile: nothing to record
    done = set(ImageCheck.objects.filter(image_id=image_id).values_list("name", flat=True))
    for check in CHECKS.values():
        if check.name not in done:
            ImageCheck.objects.get_or_create(
                image_id=image_id,
                name=check.name,
                defaults={"version": check.version, "verdict": Verdict.ERROR, "reason": reason},
            )
    log.warning("Checks of image %s ended as errors: %s", image_id, reason)
