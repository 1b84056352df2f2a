from datetime import timedelta

from django.core.management.base import BaseCommand

from fundushub.store.sweep import sweep


class Command(BaseCommand):
    help = (
        "Delete stored files that no database row refers to (left by crashes or refused uploads). "
        "Files younger than --grace-minutes are kept, as they may belong to work in progress."
    )

    def add_arguments(self, parser):
        parser.add_argument("--grace-minutes", type=int, default=60, help="default %(default)s")
        parser.add_argument("--dry-run", action="store_true", help="only report what would go")

    def handle(self, *args, grace_minutes=60, dry_run=False, **options):
        removed = sweep(timedelta(minutes=grace_minutes), dry_run=dry_run)
        verb = "Would remove" if dry_run else "Removed"
        self.stdout.write(
            f"{verb} {removed['staging']} staged, {removed['originals']} original and "
            f"{removed['thumbs']} thumbnail file(s), and {removed['edited']} edited variant(s), "
            "that no row refers to."
        )
