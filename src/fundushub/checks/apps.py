from django.apps import AppConfig


class ChecksConfig(AppConfig):
    name = "fundushub.checks"
    verbose_name = "Checks at ingest"

    def ready(self):
        from fundushub.checks import catalogue  # noqa: F401  (registers every check)
