"""What the checks at ingest found on each image: one row per image and check, replaced when the
check runs again (its version says which code produced it)."""

from django.conf import settings
from django.db import models

from fundushub.store.models import Image


class Verdict(models.TextChoices):
    # gradability: good / usable / ungradable; the others: pass or flag
    GOOD = "good", "Good"
    USABLE = "usable", "Usable"
    UNGRADABLE = "ungradable", "Ungradable"
    PASS = "pass", "No problem found"
    FLAG = "flag", "Flagged for review"
    ERROR = "error", "Check failed"


class ImageCheck(models.Model):
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="checks")
    name = models.CharField(max_length=20)
    version = models.PositiveSmallIntegerField()
    verdict = models.CharField(max_length=12, choices=Verdict.choices)
    # Something a person should look at (ungradable, eye may be mislabelled, a twin, text).
    flagged = models.BooleanField(default=False)
    # In words, for people: "looks blurred", "eye may be mislabelled (disc on the left)".
    reason = models.CharField(max_length=300, blank=True)
    values = models.JSONField(default=dict, blank=True)
    # A near-duplicate: the earlier image this one looks like.
    twin = models.ForeignKey(
        Image, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A person reviewed the flag (e.g. confirmed or dismissed burned-in text masks).
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    ran_at = models.DateTimeField(auto_now=True)
    milliseconds = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["image", "name"]
        constraints = [models.UniqueConstraint(fields=["image", "name"], name="image_check_unique")]
        indexes = [models.Index(fields=["name", "flagged", "reviewed_at"], name="check_flags")]

    def __str__(self):
        return f"{self.image_id} {self.name} v{self.version}: {self.verdict}"


class PerceptualHash(models.Model):
    """An image's 64-bit perceptual hash, and its four 16-bit quarters: two images within a few
    bits of each other share at least one quarter exactly, so twins are found by index lookups
    on the quarters, not by comparing every image of the hospital."""

    image = models.OneToOneField(Image, primary_key=True, on_delete=models.CASCADE)
    hospital_id = models.BigIntegerField()
    value = models.BigIntegerField()  # the 64 bits, as a signed integer
    q0 = models.IntegerField()
    q1 = models.IntegerField()
    q2 = models.IntegerField()
    q3 = models.IntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["hospital_id", "q0"], name="phash_q0"),
            models.Index(fields=["hospital_id", "q1"], name="phash_q1"),
            models.Index(fields=["hospital_id", "q2"], name="phash_q2"),
            models.Index(fields=["hospital_id", "q3"], name="phash_q3"),
        ]

    def __str__(self):
        return f"{self.image_id} {self.value & 0xFFFFFFFFFFFFFFFF:016x}"
