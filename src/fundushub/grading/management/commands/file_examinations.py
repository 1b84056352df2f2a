from django.core.management.base import BaseCommand

from fundushub.grading.examinations import file_unfiled


class Command(BaseCommand):
    help = (
        "File every image that is in no examination yet into its visit's examination "
        "(subject and day; an image with no subject gets one of its own). Safe to run again."
    )

    def handle(self, *args, **options):
        filed = file_unfiled()
        self.stdout.write(f"Filed {filed} image(s) into examinations.")
