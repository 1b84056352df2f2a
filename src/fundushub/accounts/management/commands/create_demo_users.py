from django.core.management.base import BaseCommand

from fundushub.accounts.demo import create_demo_users


class Command(BaseCommand):
    help = (
        "Create or reset the demo accounts admin, manager (data manager) and uploader, assigned "
        "to lab units, and print their passwords."
    )

    def add_arguments(self, parser):
        parser.add_argument("--password", help="set every demo account to this password")

    def handle(self, *args, password=None, **options):
        for username, pw in create_demo_users(password).items():
            self.stdout.write(f"{username:10s} {pw}")
