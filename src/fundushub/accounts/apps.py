from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "fundushub.accounts"
    verbose_name = "Users and roles"

    def ready(self):
        from fundushub.accounts import logins
        from fundushub.accounts.roles import ensure_role_groups

        post_migrate.connect(ensure_role_groups, sender=self)
        logins.connect()
