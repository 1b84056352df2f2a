"""The image store: every fundus image, however it arrived, exactly once per hospital."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from fundushub.store import blobs


class GradingStatus(models.TextChoices):
    UNGRADED = "ungraded", "Ungraded"
    PRE_GRADED = "pre_graded", "Pre-graded"
    GRADED = "graded", "Graded"


# What image counts are kept by (the dashboard's scope and filter columns), in their keys' order.
COUNTED_BY = (
    "lab_unit_id",
    "uploaded_by_id",
    "camera_id",
    "disease_id",
    "area_id",
    "grading_status",
    "source",
    "hospital_id",
)


class ImageQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The images of the lab units the user is assigned to, and their own uploads."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(Q(lab_unit__in=user.lab_units.values("pk")) | Q(uploaded_by=user))


class Image(models.Model):
    class Source(models.TextChoices):
        DIRECT = "direct", "Direct upload"
        CAMERA = "camera", "Camera"

    GradingStatus = GradingStatus

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

    # Pre-graded: arrived with grades from elsewhere (set at upload); graded: a grader recorded one.
    grading_status = models.CharField(
        max_length=12, choices=GradingStatus.choices, default=GradingStatus.UNGRADED
    )
    # The edited variant: a separate lossless blob; the original is never touched.
    edited_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    edit_operations = models.JSONField(default=dict, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ImageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The database, not a prior SELECT, decides what is a duplicate.
            models.UniqueConstraint(
                fields=["hospital", "md5"], name="image_unique_md5_per_hospital"
            )
        ]
        indexes = [
            models.Index(fields=["lab_unit", "-created_at"]),
            models.Index(fields=["-created_at", "-id"], name="image_keyset"),
        ]
        permissions = [
            ("grade_image", "Can record grades"),
            ("upload_pregraded", "Can upload pre-graded sets"),
            ("download_original", "Can download untouched originals"),
        ]

    def __str__(self):
        return f"{self.original_filename} ({self.id})"

    @property
    def title(self) -> str:
        """Its file name, or for a camera image "subject · left eye · day of capture" (pages
        listing many images preload the capture times: images.titles.add_capture_times)."""
        from fundushub.store.titles import add_capture_times, title_of

        if self.source == self.Source.CAMERA and not hasattr(self, "captured_at"):
            add_capture_times([self])
        when = self.captured_at if self.source == self.Source.CAMERA else None
        when = when or self.created_at
        eye = self.area.name if self.area_id else ""
        return title_of(self.source, self.original_filename, self.subject_identifier, eye, when)

    @property
    def original_key(self) -> str:
        return blobs.original_key(self.sha256)

    @property
    def thumbnail_key(self) -> str:
        return blobs.thumbnail_key(self.sha256)

    @property
    def has_edit(self) -> bool:
        return bool(self.edited_sha256)

    @property
    def edited_key(self) -> str:
        return blobs.edited_key(self.edited_sha256)

    @property
    def edited_thumbnail_key(self) -> str:
        return blobs.thumbnail_key(self.edited_sha256)

    @property
    def is_locked_for_editing(self) -> bool:
        """Pre-graded and graded images keep their pixels: a grade refers to what was seen."""
        return self.grading_status != GradingStatus.UNGRADED


class CountedImages(models.Model):
    """How many images share the dashboard's scope and filter columns: the KPI cards sum these
    rather than count every image. Database triggers (migrations 0006, 0008) keep them in the
    transaction of every insert, update and delete of an image, whatever wrote it (the ORM, bulk
    or raw SQL, a cascade); tests/store/test_image_counts.py checks them against a fresh count.
    A missing uploader, camera, disease or area is 0, so the key is unique without NULLs; a count
    that reaches 0 is removed."""

    hospital_id = models.BigIntegerField()
    lab_unit_id = models.BigIntegerField()
    uploaded_by_id = models.BigIntegerField()
    camera_id = models.BigIntegerField()
    disease_id = models.BigIntegerField()
    area_id = models.BigIntegerField()
    grading_status = models.CharField(max_length=12)
    source = models.CharField(max_length=10)
    n = models.IntegerField()

    class Meta:
        abstract = True


class ImageCount(CountedImages):
    """Every day's images together: the KPI cards without a date filter."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=list(COUNTED_BY), name="image_count_key")]

    def __str__(self):
        return f"lab unit {self.lab_unit_id}: {self.n}"


class DatedImageCount(CountedImages):
    """The images of one UTC month (monthly, start its first day) or of one UTC day: the KPI cards
    of a date range read its whole months and the days around them, from one table."""

    monthly = models.BooleanField()
    start = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["monthly", "start", *COUNTED_BY], name="dated_image_count_key"
            )
        ]

    def __str__(self):
        period = f"{self.start:%Y-%m}" if self.monthly else f"{self.start}"
        return f"{period} lab unit {self.lab_unit_id}: {self.n}"
