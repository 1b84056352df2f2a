"""Grades: what graders recorded about an image, revision by revision."""

from django.conf import settings
from django.db import models

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
