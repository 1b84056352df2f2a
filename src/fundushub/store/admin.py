from django.contrib import admin

from fundushub.store.models import Image


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["original_filename", "hospital", "lab_unit", "source", "created_at"]
    list_filter = ["source", "hospital", "disease", "area"]
    search_fields = ["original_filename", "md5", "sha256"]
    readonly_fields = ["id", "md5", "sha256", "size", "width", "height", "content_type"]
