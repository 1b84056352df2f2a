from django.contrib import admin

from fundushub.camera.models import CameraDevice, CameraFile, CameraSession, Subject


@admin.register(Subject)
class SubjectAdmin(admin.ModelAdmin):
    list_display = ["subject_identifier", "initials", "sex", "date_of_birth", "site"]
    list_filter = ["site", "sex"]
    search_fields = ["subject_identifier", "initials"]


@admin.register(CameraDevice)
class CameraDeviceAdmin(admin.ModelAdmin):
    list_display = [
        "device_id",
        "hospital",
        "lab_unit",
        "camera",
        "report_type",
        "token_created_at",
    ]
    list_filter = ["hospital", "report_type"]
    search_fields = ["device_id"]
    exclude = ["token_hash"]
    readonly_fields = ["token_created_at"]


class CameraFileInline(admin.TabularInline):
    model = CameraFile
    extra = 0
    can_delete = False
    fields = [
        "file_type",
        "original_filename",
        "size",
        "sha256",
        "capture_datetime",
        "image",
        "image_state",
        "image_detail",
    ]
    readonly_fields = fields


@admin.register(CameraSession)
class CameraSessionAdmin(admin.ModelAdmin):
    """Register mode: staff create sessions ("exam registers") here before the camera uploads."""

    list_display = ["subject", "hospital", "device", "report_type", "contraindicated", "created_at"]
    list_filter = ["hospital", "report_type", "contraindicated"]
    search_fields = ["subject__subject_identifier"]
    autocomplete_fields = ["subject"]
    fields = ["subject", "hospital", "device", "report_type", "contraindicated"]
    inlines = [CameraFileInline]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
