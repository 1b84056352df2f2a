"""The upload limits in force: an admin's runtime value, else the environment, else the default."""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Limits:
    max_file_size_mb: int
    max_files: int
    max_files_per_user: int

    @property
    def max_file_size(self) -> int:
        return self.max_file_size_mb * 1024 * 1024

    def as_dict(self) -> dict:
        return {
            "max_file_size_mb": self.max_file_size_mb,
            "max_file_size_bytes": self.max_file_size,
            "max_files": self.max_files,
            "max_files_per_user": self.max_files_per_user,
        }


def current_limits() -> Limits:
    from fundushub.accounts.models import UploadLimits

    row = UploadLimits.objects.order_by("pk").first()

    def pick(field, setting):
        value = getattr(row, field, None) if row else None
        return getattr(settings, setting) if value is None else value

    return Limits(
        max_file_size_mb=pick("max_file_size_mb", "DIRECT_UPLOAD_MAX_FILE_SIZE_MB"),
        max_files=pick("max_files", "DIRECT_UPLOAD_MAX_FILES"),
        max_files_per_user=pick("max_files_per_user", "MAX_FILES_PER_UPLOAD"),
    )
