"""Creating a job from what the request received: rows only after the bytes are durable."""

from django.db import transaction
from django.utils import timezone

from fundushub.audit.models import client_ip, record
from fundushub.store.sniff import ACCEPTED
from fundushub.uploads.labels import Label
from fundushub.uploads.models import ItemState, UploadItem, UploadJob


def invalid_type_message(mime: str) -> str:
    return f"Invalid file type: {mime}. Only JPG/PNG allowed."


def _item_for(job, position, staged, label: Label) -> UploadItem:
    item = UploadItem(
        job=job,
        position=position,
        filename=staged.name,
        size=staged.size,
        mime=staged.mime,
        md5=staged.md5,
        sha256=staged.sha256,
        subject_identifier=label.subject_identifier,
        area_id=label.area_id,
        eye_unknown=label.eye_unknown,
    )
    rejection = staged.rejection
    if not rejection and staged.mime not in ACCEPTED:
        rejection = invalid_type_message(staged.mime)
    if rejection:
        staged.discard()
        item.state, item.detail = ItemState.ERROR, rejection
        item.finished_at = timezone.now()
    else:
        item.staged_key = staged.staged_key
    return item


def create_job(request, choices: dict, files: list, rejected: list, labels=None) -> UploadJob:
    """Record the job and its items, and queue the worker, in one transaction.

    labels: each file's subject and eye (uploads/labels.py), in the order of files; none given,
    every file has no subject and the job's area.
    """
    from fundushub.uploads.tasks import process_job

    with transaction.atomic():
        job = UploadJob.objects.create(
            user=request.user,
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:500],
            rejected=rejected,
            **choices,
        )
        labels = labels or [Label()] * len(files)
        items = [
            _item_for(job, i, f, label)
            for i, (f, label) in enumerate(zip(files, labels, strict=True))
        ]
        UploadItem.objects.bulk_create(items)
        record(
            "upload.job_created",
            obj=job,
            request=request,
            files=len(files),
            rejected_in_browser=len(rejected),
            lab_unit=job.lab_unit_id,
            pre_graded=job.pre_graded,
            subjects=len({item.subject_identifier for item in items} - {""}),
        )
        # The database is the queue, so this row commits (or not) with the job itself.
        if any(item.state == ItemState.QUEUED for item in items):
            process_job.enqueue(str(job.id))
    return job
