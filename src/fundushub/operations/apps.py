from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "fundushub.operations"
    label = "operations"
    verbose_name = "Operations"
