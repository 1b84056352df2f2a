"""The image store: every fundus image, however it arrived, exactly once per hospital."""

import uuid

from django.conf import settings
from django.db import models

from fundushub.images import blobs


class Image(models.Model):
    class Source(models.TextChoices):
        DIRECT = "direct", "Direct upload"
        CAMERA = "camera", "Camera"

    # Opaque id: images are only ever addressed by this, never by a storage path.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.DIRECT)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    hospital = models.ForeignKey("catalog.Hospital", on_delete=models.PROTECT)
    lab_unit = models.ForeignKey("catalog.LabUnit", on_delete=models.PROTECT)
    camera = models.ForeignKey("catalog.Camera", null=True, blank=True, on_delete=models.PROTECT)
    disease = models.ForeignKey("catalog.Disease", null=True, blank=True, on_delete=models.PROTECT)
    area = models.ForeignKey("catalog.Area", null=True, blank=True, on_delete=models.PROTECT)
    mydriatic = models.BooleanField(default=False)
    # Camera images: whose eye this is (the area holds which eye).
    subject_identifier = models.CharField(max_length=50, blank=True, db_index=True)

    original_filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=40)
    size = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    md5 = models.CharField(max_length=32)
    sha256 = models.CharField(max_length=64, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The database, not a prior SELECT, decides what is a duplicate.
            models.UniqueConstraint(
                fields=["hospital", "md5"], name="image_unique_md5_per_hospital"
            )
        ]
        indexes = [models.Index(fields=["lab_unit", "-created_at"])]

    def __str__(self):
        return f"{self.original_filename} ({self.id})"

    @property
    def original_key(self) -> str:
        return blobs.original_key(self.sha256)

    @property
    def thumbnail_key(self) -> str:
        return blobs.thumbnail_key(self.sha256)
