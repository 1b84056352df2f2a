from django.contrib import admin

from fundushub.uploads.models import UploadItem, UploadJob, UploadLimits


class UploadItemInline(admin.TabularInline):
    model = UploadItem
    extra = 0
    can_delete = False
    fields = ["position", "filename", "state", "detail", "size", "md5", "image"]
    readonly_fields = fields


@admin.register(UploadJob)
class UploadJobAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "user", "hospital", "lab_unit"]
    list_filter = ["hospital"]
    search_fields = ["id", "user__username"]
    inlines = [UploadItemInline]
    readonly_fields = ["ip", "user_agent", "rejected"]


@admin.register(UploadLimits)
class UploadLimitsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "max_file_size_mb", "max_files", "max_files_per_user", "updated_at"]

    def has_add_permission(self, request):
        return not UploadLimits.objects.exists()
