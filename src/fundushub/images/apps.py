from django.apps import AppConfig


class ImagesConfig(AppConfig):
    name = "fundushub.images"
    verbose_name = "Image store"
