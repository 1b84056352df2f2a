from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from fundushub.accounts.models import UploadLimits, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "email", "is_staff", "file_upload_count", "upload_quota"]
    filter_horizontal = ["groups", "user_permissions", "lab_units"]
    fieldsets = BaseUserAdmin.fieldsets + (
        ("Lab units and quota", {"fields": ["lab_units", "upload_quota", "file_upload_count"]}),
    )


@admin.register(UploadLimits)
class UploadLimitsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "max_file_size_mb", "max_files", "max_files_per_user", "updated_at"]

    def has_add_permission(self, request):
        return not UploadLimits.objects.exists()
