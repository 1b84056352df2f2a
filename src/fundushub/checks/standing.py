"""Where each image's checks stand, for answers that show them (the camera API's `checks`).

done: every check has a result. pending: not yet, and its checks are queued or running. Anything
else is not_checked, never "pending" for ever: a check task whose worker died counts as running
only until the reaper would end it, and an image is pending for at most PATIENCE after storing;
results that land later replace the answer, and `run_checks` back-fills what never ran.
"""

from datetime import timedelta

from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from fundushub.checks.models import ImageCheck
from fundushub.checks.queue import TASK_PATH, checks_on, stale_after
from fundushub.checks.registry import CHECKS
from fundushub.store.models import Image

PENDING, DONE, NOT_CHECKED = "pending", "done", "not_checked"
STATES = (PENDING, DONE, NOT_CHECKED)
PATIENCE = timedelta(hours=1)
NOT_RUN = "the checks did not run; they run again when an administrator back-fills them"
OFF = "checks are off on this server"
QUEUED = "not checked yet: its checks wait behind other work"


def pending() -> dict:
    """The standing of an image not stored yet (its checks run after storing)."""
    return {"state": PENDING, "flagged": False, "results": {}}


def not_checked(reason: str) -> dict:
    return {"state": NOT_CHECKED, "flagged": False, "reason": reason, "results": {}}


def standings(image_ids) -> dict:
    """{image id: {"state", "flagged", "results": {check name: result}, maybe "reason"}}."""
    image_ids = list(dict.fromkeys(image_ids))
    if not image_ids:
        return {}
    results: dict = {pk: {} for pk in image_ids}
    for row in ImageCheck.objects.filter(image_id__in=image_ids).order_by("image_id", "name"):
        results[row.image_id][row.name] = _result(row)
    open_ids = [pk for pk in image_ids if not set(CHECKS) <= set(results[pk])]
    queued = _queued(open_ids)
    recent = _recent(open_ids)
    answer = {}
    for pk in image_ids:
        flagged = any(r["flagged"] for r in results[pk].values())
        entry = {"state": DONE, "flagged": flagged, "results": results[pk]}
        if pk in queued and pk in recent:
            entry["state"] = PENDING
        elif pk in queued:
            entry.update(state=NOT_CHECKED, reason=QUEUED)
        elif pk in open_ids:
            entry.update(state=NOT_CHECKED, reason=NOT_RUN if checks_on() else OFF)
        answer[pk] = entry
    return answer


def _result(row: ImageCheck) -> dict:
    return {
        "verdict": row.verdict,
        "flagged": row.flagged,
        "reason": row.reason,
        "version": row.version,
    }


def _recent(image_ids: list) -> set:
    """The images among these stored within PATIENCE."""
    if not image_ids:
        return set()
    since = timezone.now() - PATIENCE
    return set(
        Image.objects.filter(pk__in=image_ids, created_at__gte=since).values_list("pk", flat=True)
    )


def _queued(image_ids: list) -> set:
    """The images among these whose checks are queued, or running on a worker still alive."""
    if not image_ids:
        return set()
    tasks = DBTaskResult.objects.filter(
        task_path=TASK_PATH,
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
        args_kwargs__args__0__in=sorted(str(pk) for pk in image_ids),
    ).values_list("status", "started_at", "args_kwargs")
    alive_since = timezone.now() - stale_after()
    queued = set()
    for status, started_at, args_kwargs in tasks:
        if status == TaskResultStatus.READY or (started_at and started_at >= alive_since):
            queued.add(args_kwargs["args"][0])
    return {pk for pk in image_ids if str(pk) in queued}
