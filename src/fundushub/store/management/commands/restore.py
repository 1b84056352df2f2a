from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from fundushub.store.backup import Refused
from fundushub.store.restore import restore

MB = 1_000_000


class Command(BaseCommand):
    help = (
        "Restore a backup folder SRC (made by 'backup') into this data folder: checks the "
        "manifest, writes the database, copies the stored files (checking each original and "
        "edited variant against its SHA-256) and the secret key, and compares the result with "
        "the manifest. Refuses a data folder that already holds data unless --force. Stop the "
        "site and the workers first."
    )

    def add_arguments(self, parser):
        parser.add_argument("src", metavar="SRC", help="the backup folder")
        parser.add_argument(
            "--force",
            action="store_true",
            help="replace the database and add the files even if the data folder holds data",
        )

    def handle(self, *args, src, force=False, **options):
        try:
            result = restore(Path(src), force=force, say=self.stdout.write)
        except Refused as e:
            raise CommandError(str(e)) from None
        manifest = result.manifest
        self.stdout.write(
            f"Restored the backup of {manifest['created_at']} (Fundus Hub "
            f"{manifest['fundushub_version']}): the database and {result.copied:,} file(s) "
            f"({result.copied_bytes / MB:,.1f} MB)."
        )
        for problem in result.problems:
            self.stderr.write(f"PROBLEM {problem}")
        if result.problems:
            raise CommandError(
                f"{len(result.problems)} problem(s): the restore does not match its manifest.",
                returncode=1,
            )
        self.stdout.write(
            "Checked against the manifest. Next: 'fundushub manage migrate' (brings an older "
            "backup's database up to this version), then 'fundushub manage scrub'."
        )
