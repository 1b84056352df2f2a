from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from fundushub.store.backup import MANIFEST, Refused, backup
from fundushub.store.models import Image

MB = 1_000_000


class Command(BaseCommand):
    help = (
        "Back up the embedded default (SQLite database and local files) into the folder DEST, "
        "while the site runs: SQLite's online backup of the database, the stored files copied "
        "incrementally (only those DEST lacks), the secret key, and a manifest written last. "
        "Use the same DEST every time; keep it on another disk or machine. PostgreSQL and S3 "
        "installations use their own tools (README: Backup and restore)."
    )

    def add_arguments(self, parser):
        parser.add_argument("dest", metavar="DEST", help="the backup folder (made if missing)")

    def handle(self, *args, dest, **options):
        try:
            manifest = backup(Path(dest), say=self.stdout.write)
        except Refused as e:
            raise CommandError(str(e)) from None
        database, files, copied = manifest["database"], manifest["files"], manifest["copied"]
        self.stdout.write(
            f"Backed up to {dest}: the database ({database['size'] / MB:,.1f} MB, "
            f"{database['rows'].get(Image._meta.db_table, 0):,} image row(s)) and "
            f"{copied['files']:,} new file(s) ({copied['bytes'] / MB:,.1f} MB); the folder now "
            f"holds {files['originals']:,} original(s), {files['edited']:,} edited variant(s), "
            f"{files['thumbs']:,} thumbnail(s) and {files['staging']:,} staged upload(s). "
            f"{MANIFEST} written."
        )
