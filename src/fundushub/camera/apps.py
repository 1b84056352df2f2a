from django.apps import AppConfig


class CameraConfig(AppConfig):
    name = "fundushub.camera"
    verbose_name = "Camera ingestion"
