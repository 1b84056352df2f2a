import time

from django.core.management.base import BaseCommand, CommandError

from fundushub.audit.models import record
from fundushub.grading.examinations import file_unfiled
from fundushub.library.seeding import NoReferenceData, seed_images


def _size(value: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in value.lower().split("x"))
    except ValueError:
        raise CommandError(f"--size must look like 768x576, not {value!r}") from None
    if not (64 <= w <= 4000 and 64 <= h <= 4000):
        raise CommandError("--size: each side must be between 64 and 4000 pixels")
    return w, h


class Command(BaseCommand):
    """seed_images N [--pictures K]: synthetic images for demos and load tests.

    By default each image is a picture of its own, drawn and stored one by one, and the images are
    filed into their visits' examinations (as uploads are), ready for the graders' worklists. With
    --pictures K the rows share K generated pictures: demo and load-test data, fast enough for a
    million rows (large batches, COPY on PostgreSQL); each such row's md5 is its own, not its
    bytes' digest, and filing them is left to `file_examinations` (one image at a time).
    """

    help = (
        "Create N synthetic fundus images (real JPEGs with thumbnails) with plausible metadata "
        "spread across the hospitals, lab units, cameras, diseases and areas, for demos and load "
        "tests. With --pictures K the rows share K generated pictures (demo/load-test data)."
    )

    def add_arguments(self, parser):
        parser.add_argument("n", type=int, help="how many images to add")
        parser.add_argument("--seed", type=int, default=1, help="random seed (default %(default)s)")
        parser.add_argument(
            "--size", default="768x576", help="picture size WxH (default %(default)s)"
        )
        parser.add_argument(
            "--days", type=int, default=365, help="spread over this many past days (default 365)"
        )
        parser.add_argument(
            "--batch",
            type=int,
            help="rows per transaction (default 500, or 20000 with --pictures)",
        )
        parser.add_argument(
            "--pictures",
            type=int,
            metavar="K",
            help="the rows share K generated pictures instead of one each: demo/load-test data "
            "(each row's md5 is its own, not its bytes'), inserted in large batches, by COPY on "
            "PostgreSQL; for a million rows, e.g. --pictures 200",
        )

    def handle(self, *args, n, seed, size, days, batch, pictures, **options):
        batch = batch if batch is not None else 20_000 if pictures else 500
        if n < 1:
            raise CommandError("N must be at least 1")
        if days < 1 or batch < 1:
            raise CommandError("--days and --batch must be at least 1")
        if pictures is not None and pictures < 1:
            raise CommandError("--pictures must be at least 1")
        started = time.monotonic()

        def progress(done, total):
            if (
                options["verbosity"] >= 1
                and done
                and (done == total or done % min(batch * 20, 100_000) == 0)
            ):
                self.stdout.write(f"  {done}/{total} images")

        try:
            added = seed_images(
                n,
                seed=seed,
                size=_size(size),
                days=days,
                batch=batch,
                pictures=pictures,
                progress=progress,
            )
        except NoReferenceData as e:
            raise CommandError(str(e)) from None
        record("images.seeded", count=added, seed=seed, size=size, days=days, pictures=pictures)
        self.stdout.write(f"Added {added} synthetic images in {time.monotonic() - started:.1f} s.")
        if pictures:
            self.stdout.write("Not filed into examinations: run file_examinations for that.")
        else:
            self.stdout.write(f"Filed {file_unfiled()} image(s) into examinations.")
