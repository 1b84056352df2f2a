import argparse
from datetime import date, datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from fundushub.checks import backfill
from fundushub.checks.models import Verdict
from fundushub.checks.registry import CHECKS
from fundushub.checks.runner import run_checks
from fundushub.lib.progress import Progress
from fundushub.lib.tasks import failure_reason


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-01-31"
        ) from None


class Command(BaseCommand):
    help = (
        "Run the checks at ingest (gradability, eye, near-duplicates, burned-in text) on stored "
        "images that have no result yet, or only an error (failed, not run in time, worker "
        "stopped): images stored while checks were off or before a check existed. With --check, "
        "also where the stored result comes from an older version of that check. Runs here, "
        "oldest image first, with a progress bar; stop it any time and run it again to go on."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--since",
            type=_date,
            metavar="DATE",
            help="only images stored on or after this day (YYYY-MM-DD, the server's time zone)",
        )
        parser.add_argument(
            "--check",
            action="append",
            dest="checks",
            metavar="NAME",
            help=f"only this check (repeat for more), and run it again where its result comes "
            f"from an older version; one of: {', '.join(CHECKS) or 'none installed'}",
        )
        parser.add_argument(
            "--again",
            action="store_true",
            help="run the checks again on every image selected, whatever results it has",
        )

    def handle(self, *args, since=None, checks=None, again=False, **options):
        names = self._names(checks)
        start = timezone.make_aware(datetime.combine(since, time.min)) if since else None
        named = bool(checks)
        images = backfill.images_needing(names, since=start, named=named, again=again)
        total = images.count()
        which = ", ".join(names)
        if not total:
            self.stdout.write(f"Nothing to check: every image has a result from {which}.")
            return
        self.stdout.write(f"{total:,} image(s) to check with {which}.")
        progress = Progress(lambda text: self.stdout.write(text, ending=""), self.stdout.isatty())
        tally = {"images": 0, "runs": 0, "flagged": 0, "errors": 0, "failed": 0}
        if progress.tty:  # the bar from the start; a log gets a line now and then
            progress.update(0, self._line(tally, total), force=True)
        try:
            for batch in backfill.batches(images):
                needs = backfill.to_run([i.pk for i in batch], names, named=named, again=again)
                for image in batch:
                    self._check(image, needs[image.pk], tally, progress)
                    progress.update(tally["images"] / total, self._line(tally, total))
        except KeyboardInterrupt:
            raise CommandError(
                f"Stopped after {tally['images']:,} image(s). Run it again to go on: images "
                "checked so far are not checked again (unless --again).",
                returncode=130,
            ) from None
        finally:
            progress.close()
        self.stdout.write(f"Done: {self._line(tally, total)}.")

    def _names(self, asked) -> list[str]:
        if not CHECKS:
            raise CommandError("No checks are installed.")
        if not asked:
            return list(CHECKS)
        unknown = [name for name in asked if name not in CHECKS]
        if unknown:
            raise CommandError(
                f"Unknown check {unknown[0]!r}; the checks are: {', '.join(CHECKS)}."
            )
        return [name for name in CHECKS if name in asked]  # in the order they run

    def _check(self, image, names, tally, progress) -> None:
        tally["images"] += 1
        if not names:  # checked meanwhile (by the worker)
            return
        try:
            results = run_checks(image, names)
        except Exception as e:  # one image's trouble (deleted meanwhile...) stops no other
            tally["failed"] += 1
            progress.say(f"Image {image.pk} ({image.original_filename}): {failure_reason(e)}")
            return
        tally["runs"] += len(results)
        tally["flagged"] += sum(1 for row in results.values() if row.flagged)
        tally["errors"] += sum(1 for row in results.values() if row.verdict == Verdict.ERROR)

    @staticmethod
    def _line(tally, total) -> str:
        failed = f", {tally['failed']} image(s) failed" if tally["failed"] else ""
        return (
            f"{tally['images']:,} of {total:,} image(s) checked, {tally['runs']:,} check(s) run, "
            f"{tally['flagged']:,} flagged, {tally['errors']:,} error(s){failed}"
        )
