from django.core.management.base import BaseCommand

from fundushub.catalog.reference import load_reference_data


class Command(BaseCommand):
    help = (
        "Create the diseases (DR, Glaucoma, AMD) and areas (left eye, right eye, both) every "
        "installation needs; with --demo also demo hospitals, lab units and cameras. Safe to re-run."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--demo", action="store_true", help="also add demo hospitals, lab units and cameras"
        )

    def handle(self, *args, demo=False, **options):
        added = load_reference_data(demo=demo)
        summary = ", ".join(f"{n} {kind}" for kind, n in added.items())
        self.stdout.write(f"Reference data ready (added {summary}).")
