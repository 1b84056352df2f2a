from django.apps import AppConfig


class UploadsConfig(AppConfig):
    name = "fundushub.uploads"
    verbose_name = "Direct uploads"
