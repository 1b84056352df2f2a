"""Camera ingestion: the subject registry, camera devices, exam sessions and the files they send."""

import hashlib
import secrets
import uuid
from datetime import date

from django.conf import settings
from django.db import models

FILE_TYPES = ("left", "right", "left_dicom", "right_dicom", "report", "left_report", "right_report")
IMAGE_TYPES = ("left", "right")
DICOM_TYPES = ("left_dicom", "right_dicom")
REPORT_TYPES = ("report", "left_report", "right_report")


class ReportType(models.TextChoices):
    COMBINED = "combined", "Combined (one report for both eyes)"
    PER_EYE = "per_eye", "Per eye (one report per eye)"


class Subject(models.Model):
    subject_identifier = models.CharField(max_length=50, unique=True)
    initials = models.CharField(max_length=10, blank=True)
    sex = models.CharField(max_length=1, choices=[("M", "Male"), ("F", "Female")], blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    site = models.ForeignKey("catalog.Hospital", on_delete=models.PROTECT, related_name="subjects")

    class Meta:
        ordering = ["subject_identifier"]

    def __str__(self):
        return self.subject_identifier

    def age_on(self, day: date) -> int | None:
        if not self.date_of_birth:
            return None
        dob = self.date_of_birth
        return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class CameraDevice(models.Model):
    """A fundus camera workstation: where it is, what it is, and the token it signs in with."""

    device_id = models.CharField(max_length=100, unique=True)
    hospital = models.ForeignKey("catalog.Hospital", on_delete=models.PROTECT)
    lab_unit = models.ForeignKey("catalog.LabUnit", on_delete=models.PROTECT)
    camera = models.ForeignKey("catalog.Camera", null=True, blank=True, on_delete=models.PROTECT)
    report_type = models.CharField(
        max_length=10, choices=ReportType.choices, default=ReportType.COMBINED
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="camera_device"
    )
    # Only a hash of the token is kept: a database dump cannot be used to upload.
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    token_created_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["device_id"]

    def __str__(self):
        return self.device_id

    def new_token(self) -> str:
        """Issue a new token (the old one stops working); the caller shows it once."""
        from django.utils import timezone

        key = secrets.token_hex(20)
        self.token_hash = hash_token(key)
        self.token_created_at = timezone.now()
        self.save(update_fields=["token_hash", "token_created_at"])
        return key


class CameraSession(models.Model):
    """One examination ("exam register"): the files a camera sends for a subject."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="sessions")
    hospital = models.ForeignKey("catalog.Hospital", on_delete=models.PROTECT)
    device = models.ForeignKey(
        CameraDevice, null=True, blank=True, on_delete=models.PROTECT, related_name="sessions"
    )
    report_type = models.CharField(
        max_length=10, choices=ReportType.choices, default=ReportType.COMBINED
    )
    contraindicated = models.BooleanField(
        default=False, help_text="Imaging is contraindicated: no uploads are expected."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_resolved_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # What the camera sent with resolve, kept as sent (it may mean nothing to us).
    sent = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.subject} {self.created_at:%Y-%m-%d %H:%M}"


class CameraFile(models.Model):
    session = models.ForeignKey(CameraSession, on_delete=models.PROTECT, related_name="files")
    file_type = models.CharField(max_length=20, choices=[(t, t) for t in FILE_TYPES])
    original_filename = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    md5 = models.CharField(max_length=32)
    mime = models.CharField(max_length=100)
    capture_datetime = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    device = models.ForeignKey(
        CameraDevice, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # left/right images join the image store in the background: pending until that is done.
    image_state = models.CharField(
        max_length=12,
        choices=[
            ("none", "Not an image"),
            ("pending", "Pending"),
            ("stored", "Stored"),
            ("undecodable", "Undecodable"),
            ("no_preview", "No preview"),
            ("error", "Error"),
        ],
        default="none",
    )
    # Why a file has no image (undecodable, no preview, error), in words for people.
    image_detail = models.CharField(max_length=300, blank=True)
    # Times the image task was queued for this file (bounded by FUNDUSHUB_MAX_ATTEMPTS), and the
    # claim of the worker on it now: one that dies leaves an expired lease for the reaper.
    image_attempts = models.PositiveSmallIntegerField(default=0)
    image_lease_until = models.DateTimeField(null=True, blank=True)
    image = models.ForeignKey(
        "images.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["session", "file_type", "received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "original_filename"], name="camera_file_name_unique_in_session"
            )
        ]

    def __str__(self):
        return f"{self.session.subject} {self.file_type} {self.original_filename}"

    @property
    def stored_filename(self) -> str:
        from fundushub.store import blobs

        return blobs.original_key(self.sha256)
