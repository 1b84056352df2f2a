"""Grading: examinations (one subject's visit), the schemes and programmes they are graded by,
the gradings graders record, and the per-image grade revisions."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from fundushub.store.models import Image


class Grade(models.Model):
    """One revision of a grader's grade for an image; revising adds a row, never rewrites one."""

    image = models.ForeignKey(Image, on_delete=models.PROTECT, related_name="grades")
    revision = models.PositiveIntegerField()
    disease = models.ForeignKey("catalog.Disease", null=True, blank=True, on_delete=models.PROTECT)
    grade = models.CharField(max_length=20)
    notes = models.TextField(blank=True)
    graded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    graded_at = models.DateTimeField(auto_now_add=True)
    # Set when the revision records an examination's decided grade for this image's eye.
    grading = models.ForeignKey(
        "ExamGrading", null=True, blank=True, on_delete=models.SET_NULL, related_name="image_grades"
    )

    class Meta:
        # Created by the image store before grading had an app of its own: the table kept its name.
        db_table = "images_grade"
        ordering = ["image", "-revision"]
        constraints = [
            models.UniqueConstraint(fields=["image", "revision"], name="grade_revision_unique")
        ]

    def __str__(self):
        return f"{self.image_id} r{self.revision}: {self.grade}"

    @property
    def label(self) -> str:
        from fundushub.grading.scales import label_for

        return label_for(self.disease, self.grade)


class Scheme(models.Model):
    """A grading form as data: the fields graded per eye (DR: R, M, P) and their values.
    Admins add schemes, fields and values; the code of a value is what is stored."""

    # Images whose disease has this code are graded on this scheme (DR, Glaucoma, AMD).
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.name


class SchemeField(models.Model):
    scheme = models.ForeignKey(Scheme, on_delete=models.CASCADE, related_name="fields")
    code = models.CharField(max_length=10, help_text="Short code, e.g. R for retinopathy.")
    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["scheme", "position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "code"], name="scheme_field_code_unique")
        ]

    def __str__(self):
        return f"{self.scheme.code} {self.code}"


class SchemeValue(models.Model):
    field = models.ForeignKey(SchemeField, on_delete=models.CASCADE, related_name="values")
    code = models.CharField(max_length=10, help_text="What is stored, e.g. R3a.")
    label = models.CharField(max_length=200)
    key = models.CharField(
        max_length=1, help_text="The keyboard key that picks this value on the grading form."
    )
    position = models.PositiveSmallIntegerField(default=0)
    referable = models.BooleanField(default=False)
    ungradable = models.BooleanField(default=False)

    class Meta:
        ordering = ["field", "position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["field", "code"], name="scheme_value_code_unique"),
            models.UniqueConstraint(fields=["field", "key"], name="scheme_value_key_unique"),
        ]

    def __str__(self):
        return f"{self.code} ({self.label})"


class Outcome(models.TextChoices):
    RECALL_12 = "recall_12", "Routine recall in 12 months"
    RECALL_24 = "recall_24", "Routine recall in 24 months"
    REFER_ROUTINE = "refer_routine", "Refer to the eye clinic: routine"
    REFER_SOON = "refer_soon", "Refer to the eye clinic: soon"
    REFER_URGENT = "refer_urgent", "Refer to the eye clinic: urgent"
    REIMAGE = "reimage", "Ungradable: re-image"
    GRADED_ELSEWHERE = "graded_elsewhere", "Graded before upload"


REFERABLE_OUTCOMES = (Outcome.REFER_ROUTINE, Outcome.REFER_SOON, Outcome.REFER_URGENT)


class Programme(models.Model):
    """A screening programme's grading policy: which scheme, who grades twice, how long a claim
    lasts, and (its rules) how grades become an outcome."""

    name = models.CharField(max_length=200, unique=True)
    scheme = models.ForeignKey(Scheme, on_delete=models.PROTECT, related_name="programmes")
    lab_units = models.ManyToManyField(
        "catalog.LabUnit",
        blank=True,
        related_name="programmes",
        help_text="Lab units it runs in; none: every lab unit whose images have its scheme's disease.",
    )
    second_all = models.BooleanField(
        default=False, help_text="Every examination is graded a second time."
    )
    second_referable = models.BooleanField(
        default=True, help_text="Examinations the first grader refers are graded a second time."
    )
    qa_sample_percent = models.PositiveSmallIntegerField(
        default=10,
        help_text="Share (0–100 %) of the other examinations sampled for a second grading.",
    )
    compare_fields = models.JSONField(
        default=list,
        blank=True,
        help_text='Besides the outcome, fields whose disagreement goes to arbitration, e.g. ["M"].',
    )
    exclude_own = models.BooleanField(
        default=True,
        help_text="Whoever uploaded or captured an examination does not grade it.",
    )
    claim_minutes = models.PositiveSmallIntegerField(
        default=20, help_text="How long a claimed examination stays with its grader."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class OutcomeRule(models.Model):
    """One rule of a programme: the first rule (by position) whose condition holds gives the
    outcome, and is shown beside it. A rule with no field always holds (the fallback)."""

    class Eyes(models.TextChoices):
        ANY = "any", "either eye"
        BOTH = "both", "both eyes"

    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveSmallIntegerField(default=0)
    field = models.CharField(max_length=10, blank=True, help_text="A scheme field code, e.g. R.")
    values = models.CharField(
        max_length=200, blank=True, help_text="Value codes, comma-separated, e.g. R2,R3a."
    )
    eyes = models.CharField(max_length=4, choices=Eyes.choices, default=Eyes.ANY)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)

    class Meta:
        ordering = ["programme", "position", "pk"]

    def __str__(self):
        return self.description

    @property
    def value_codes(self) -> list[str]:
        return [v.strip() for v in self.values.split(",") if v.strip()]

    @property
    def description(self) -> str:
        if not self.field:
            return f"otherwise → {self.get_outcome_display()}"
        codes = " or ".join(self.value_codes)
        return f"{codes} in {self.get_eyes_display()} → {self.get_outcome_display()}"


class Stage(models.TextChoices):
    PRIMARY = "primary", "Awaiting first grading"
    SECONDARY = "secondary", "Awaiting second grading"
    ARBITRATION = "arbitration", "Awaiting arbitration"
    DONE = "done", "Outcome decided"


WAITING_STAGES = [Stage.PRIMARY, Stage.SECONDARY, Stage.ARBITRATION]


class ExaminationQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The examinations of the lab units the user is assigned to."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(lab_unit__in=user.lab_units.values("pk"))


class Examination(models.Model):
    """One subject's images of one visit, from any source, graded together."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    hospital = models.ForeignKey("catalog.Hospital", on_delete=models.PROTECT)
    lab_unit = models.ForeignKey("catalog.LabUnit", on_delete=models.PROTECT)
    # What groups images into this examination (the database keeps it unique per hospital):
    # "visit:<subject>:<date>", or "image:<id>" for an image with no subject, "manual:<uuid>".
    group_key = models.CharField(max_length=120)
    subject_identifier = models.CharField(max_length=50, blank=True, db_index=True)
    visit_date = models.DateField(db_index=True)
    programme = models.ForeignKey(Programme, null=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)
    # Who uploaded or captured it (a camera's own user for camera images).
    brought_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    stage = models.CharField(max_length=12, choices=Stage.choices, default=Stage.PRIMARY)
    # Entered its current stage: the worklist serves the longest-waiting first.
    waiting_since = models.DateTimeField(default=timezone.now)
    second_reason = models.CharField(max_length=40, blank=True)
    primary_grader = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claim_until = models.DateTimeField(null=True, blank=True)
    # What arbitration is asked to settle: [{"field": ..., "eye": ..., "first": ..., "second": ...}].
    disagreement = models.JSONField(default=list, blank=True)

    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    outcome_rule = models.CharField(max_length=300, blank=True)
    referable = models.BooleanField(null=True)
    final_grading = models.ForeignKey(
        "ExamGrading", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_reason = models.CharField(max_length=500, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True, db_index=True)

    objects = ExaminationQuerySet.as_manager()

    class Meta:
        ordering = ["-visit_date", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["hospital", "group_key"], name="examination_group_unique"
            )
        ]
        indexes = [
            # A grader's examinations by stage, oldest first. The columns after the key are the
            # worklist's other conditions: counting what waits reads this index alone.
            models.Index(
                fields=[
                    "lab_unit",
                    "stage",
                    "waiting_since",
                    "id",
                    "claim_until",
                    "claimed_by",
                    "primary_grader",
                    "brought_by",
                    "programme",
                ],
                name="exam_worklist",
            ),
            models.Index(fields=["lab_unit", "-visit_date", "-id"], name="exam_by_visit"),
            # The worklist's order over the examinations still waiting (not the decided many),
            # whatever their lab units and stages: PostgreSQL reads a page in this order instead
            # of sorting all that wait (bench/worklist.py). SQLite, which compares a partial
            # index's WHERE with the query's text and gets the stages as parameters, sorts.
            models.Index(
                fields=["waiting_since", "id"],
                name="exam_waiting",
                condition=models.Q(stage__in=WAITING_STAGES),
            ),
        ]
        permissions = [("arbitrate_examination", "Can arbitrate and revise decided outcomes")]

    def __str__(self):
        who = self.subject_identifier or "unknown subject"
        return f"{who} {self.visit_date}"

    @property
    def is_claimed(self) -> bool:
        return bool(self.claim_until and self.claim_until > timezone.now())


class ExaminationImage(models.Model):
    """Which examination an image belongs to (an image is in exactly one)."""

    image = models.OneToOneField(
        Image, primary_key=True, on_delete=models.CASCADE, related_name="examination_link"
    )
    examination = models.ForeignKey(
        Examination, on_delete=models.PROTECT, related_name="image_links"
    )
    filed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.image_id} in {self.examination_id}"


class Role(models.TextChoices):
    PRIMARY = "primary", "First grading"
    SECONDARY = "secondary", "Second grading"
    ARBITRATION = "arbitration", "Arbitration"
    REVISION = "revision", "Revision"
    PRE_GRADED = "pre_graded", "Pre-graded"


class ExamGrading(models.Model):
    """One grader's grading of an examination: per-eye values, the outcome its rules gave and the
    rule that fired. Rows are only added; a revision is a new row."""

    examination = models.ForeignKey(Examination, on_delete=models.CASCADE, related_name="gradings")
    role = models.CharField(max_length=12, choices=Role.choices)
    revision = models.PositiveSmallIntegerField(default=1)
    grader = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    scheme = models.ForeignKey(Scheme, null=True, on_delete=models.PROTECT)
    # {"right": {"R": "R1", "M": "M0", "P": "P0"}, "left": {...}}
    values = models.JSONField(default=dict)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    outcome_rule = models.CharField(max_length=300, blank=True)
    referable = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["examination", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["examination", "role", "revision"], name="exam_grading_revision_unique"
            )
        ]
        indexes = [
            models.Index(fields=["grader", "created_at"]),
            # A senior grader's worklist leaves out the arbitrations of examinations they graded
            # first or second: this reads those gradings from the index alone.
            models.Index(fields=["grader", "role", "examination"], name="exam_grading_by_grader"),
        ]

    def __str__(self):
        return f"{self.examination_id} {self.role} r{self.revision}: {self.outcome}"
