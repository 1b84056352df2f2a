from django.contrib import admin

from fundushub.catalog.models import Area, Camera, Disease, Hospital, LabUnit


class LabUnitInline(admin.TabularInline):
    model = LabUnit
    extra = 1


@admin.register(Hospital)
class HospitalAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]
    inlines = [LabUnitInline]


@admin.register(LabUnit)
class LabUnitAdmin(admin.ModelAdmin):
    list_display = ["name", "hospital"]
    list_filter = ["hospital"]
    search_fields = ["name", "hospital__name"]


@admin.register(Camera)
class CameraAdmin(admin.ModelAdmin):
    list_display = ["name", "manufacturer"]
    search_fields = ["name", "manufacturer"]


@admin.register(Disease)
class DiseaseAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
