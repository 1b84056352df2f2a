"""Reference data: where and how images are taken, and what they are screened for."""

from django.db import models


class Hospital(models.Model):
    name = models.CharField(max_length=200, unique=True)
    code = models.CharField(
        max_length=40, blank=True, help_text="Short code, e.g. an EDC site code."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class LabUnit(models.Model):
    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="lab_units")
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["hospital__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["hospital", "name"], name="lab_unit_unique_per_hospital"
            )
        ]

    def __str__(self):
        return f"{self.hospital.name} – {self.name}"


class Camera(models.Model):
    name = models.CharField(max_length=200, unique=True)
    manufacturer = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Disease(models.Model):
    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.code


class Area(models.Model):
    """The anatomical area imaged: left eye, right eye, or both."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return self.name
