"""Direct-upload jobs and their items. A job's state is derived from its items, never stored."""

import uuid

from django.conf import settings
from django.db import models


class ItemState(models.TextChoices):
    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    DUPLICATE = "duplicate", "Duplicate"
    ERROR = "error", "Error"


PENDING_STATES = (ItemState.QUEUED, ItemState.PROCESSING)


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    PROCESSING = "processing", "Processing"
    DONE = "done", "Done"
    ERROR = "error", "Error"


JOB_ERROR_MESSAGE = "One or more files failed"


def job_state(counts: dict) -> str:
    """The job's state from its item counts by state."""
    pending = counts.get(ItemState.QUEUED, 0) + counts.get(ItemState.PROCESSING, 0)
    total = sum(counts.values())
    if pending:
        return JobState.QUEUED if counts.get(ItemState.QUEUED, 0) == total else JobState.PROCESSING
    return JobState.ERROR if counts.get(ItemState.ERROR, 0) else JobState.DONE


class UploadJob(models.Model):
    # The job token: unguessable, shown to the user, used in every URL.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    hospital = models.ForeignKey("catalog.Hospital", on_delete=models.PROTECT)
    lab_unit = models.ForeignKey("catalog.LabUnit", on_delete=models.PROTECT)
    camera = models.ForeignKey("catalog.Camera", on_delete=models.PROTECT)
    disease = models.ForeignKey("catalog.Disease", on_delete=models.PROTECT)
    area = models.ForeignKey("catalog.Area", on_delete=models.PROTECT)
    mydriatic = models.BooleanField(default=False)
    # A pre-graded set (only users with images.upload_pregraded may say so): its images are locked.
    pre_graded = models.BooleanField(default=False)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    # Files the browser left out before upload: [{"filename": ..., "reason": ...}].
    rejected = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("view_all_lab_unit_jobs", "Can see every job of their lab units")]

    def __str__(self):
        return str(self.id)

    def state_counts(self) -> dict:
        rows = self.items.values("state").annotate(n=models.Count("pk")).order_by()
        return {row["state"]: row["n"] for row in rows}


class UploadItem(models.Model):
    job = models.ForeignKey(UploadJob, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    filename = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    mime = models.CharField(max_length=100, blank=True)
    md5 = models.CharField(max_length=32, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    # Where the received bytes wait for the worker; emptied once stored.
    staged_key = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=12, choices=ItemState.choices, default=ItemState.QUEUED)
    detail = models.CharField(max_length=300, blank=True)
    image = models.ForeignKey(
        "images.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A claim: the worker holding it must finish before lease_until; attempts fences stale workers.
    lease_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # One unit of the uploader's quota is held for this file: taken before its bytes move, kept
    # if it is stored, given back if it fails or turns out a duplicate (uploads/ingest.py).
    quota_held = models.BooleanField(default=False)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Whose eye, per file (uploads/labels.py): a subject typed, read from the name or a manifest;
    # an eye read from the name or chosen in the list (no area: the job's), or said to be unknown.
    subject_identifier = models.CharField(max_length=50, blank=True)
    area = models.ForeignKey(
        "catalog.Area", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    eye_unknown = models.BooleanField(default=False)

    class Meta:
        ordering = ["job", "position"]
        constraints = [
            models.UniqueConstraint(fields=["job", "position"], name="upload_item_position_unique"),
            models.CheckConstraint(
                condition=models.Q(eye_unknown=False) | models.Q(area__isnull=True),
                name="upload_item_unknown_eye_has_no_area",
            ),
        ]
        indexes = [models.Index(fields=["state", "lease_until"])]

    def __str__(self):
        return f"{self.filename} ({self.state})"

    @property
    def area_id_for_image(self) -> int | None:
        """The image's area: the file's own, else the job's; none when the eye is unknown."""
        if self.eye_unknown:
            return None
        return self.area_id or self.job.area_id


class WorkerHeartbeat(models.Model):
    """A running worker's sign of life, refreshed every few seconds (uploads/heartbeat.py), so pages
    can say plainly that nothing is processing instead of showing "Processing" for ever."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    host = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"worker {self.pid}@{self.host} seen {self.seen_at:%Y-%m-%d %H:%M:%S}"
