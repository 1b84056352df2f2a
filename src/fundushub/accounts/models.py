"""Users: who may upload where, and how much (their quota, and the site's upload limits)."""

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    lab_units = models.ManyToManyField(
        "catalog.LabUnit",
        blank=True,
        related_name="users",
        help_text="Lab units this user works in: uploads go only there, and what they see is scoped to them.",
    )
    upload_quota = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Lifetime number of files this user may upload. Empty: the site default "
        "(MAX_FILES_PER_UPLOAD). 0: unlimited.",
    )
    file_upload_count = models.PositiveIntegerField(
        default=0, help_text="Files this user has stored so far (duplicates are not counted)."
    )

    def effective_quota(self) -> int:
        """The lifetime quota in force for this user; 0 means unlimited."""
        if self.upload_quota is not None:
            return self.upload_quota
        from fundushub.accounts.limits import current_limits

        return current_limits().max_files_per_user

    def quota_remaining(self) -> int | None:
        quota = self.effective_quota()
        if quota == 0:
            return None
        return max(0, quota - self.file_upload_count)


class UploadLimits(models.Model):
    """Runtime overrides of the upload limits, edited by admins; empty fields use the settings."""

    max_file_size_mb = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Per-file size limit in MB (DIRECT_UPLOAD_MAX_FILE_SIZE_MB).",
    )
    max_files = models.PositiveIntegerField(
        null=True, blank=True, help_text="Files per upload (DIRECT_UPLOAD_MAX_FILES)."
    )
    max_files_per_user = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Default lifetime quota per user (MAX_FILES_PER_UPLOAD); 0 = unlimited.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "upload limits"
        verbose_name_plural = "upload limits"

    def __str__(self):
        return "Upload limits"
