from django.apps import AppConfig


class GradingConfig(AppConfig):
    name = "fundushub.grading"
    verbose_name = "Grading"
