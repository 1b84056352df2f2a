from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "fundushub.audit"
    verbose_name = "Audit"
