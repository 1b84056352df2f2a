from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "fundushub.catalog"
    verbose_name = "Reference data"
