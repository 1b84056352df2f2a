from django.contrib import admin

from fundushub.uploads.models import UploadItem, UploadJob


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
