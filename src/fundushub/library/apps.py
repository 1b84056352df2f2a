from django.apps import AppConfig


class LibraryConfig(AppConfig):
    name = "fundushub.library"
    verbose_name = "Image library"
