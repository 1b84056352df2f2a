import argparse
from datetime import UTC, datetime
from time import monotonic

from django.core.management.base import BaseCommand, CommandError

from fundushub.lib.progress import Progress
from fundushub.lib.throttle import Throttle
from fundushub.store import scrub_state
from fundushub.store.scrub import Scrub
from fundushub.store.scrub_state import ScrubState

MB = 1_000_000


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError("a fraction above 0 and at most 1, e.g. 0.05")
    return value


def _rate(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("MB/s, at least 0 (0: as fast as the storage allows)")
    return value


class Command(BaseCommand):
    help = (
        "Re-read the stored originals and edited variants, check each against the SHA-256 it is "
        "named by, and check every image's thumbnail exists. Reports missing, corrupt and "
        "unreadable files with the records that refer to them; a corrupt file is moved to "
        "quarantine/ (never deleted). Works on local files and S3. A stopped scrub goes on where "
        "it stopped. Exit status 1 when anything was found."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--rate",
            type=_rate,
            default=0,
            metavar="MB/s",
            help="read at most this many megabytes (10^6 bytes) a second, to leave the disk or "
            "bucket to the site (default: no limit)",
        )
        parser.add_argument(
            "--sample",
            type=_fraction,
            default=1.0,
            metavar="FRACTION",
            help="check only this fraction of the files, e.g. 0.05; the same files every run "
            "for the same --seed (default: all)",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=0,
            help="which sample --sample takes; change it to cover other files (default 0)",
        )
        start = parser.add_mutually_exclusive_group()
        start.add_argument(
            "--resume",
            dest="restart",
            action="store_false",
            default=False,
            help="go on from where an unfinished scrub stopped (the default)",
        )
        start.add_argument(
            "--restart",
            action="store_true",
            help="start from the beginning even if a scrub stopped half-way",
        )
        parser.add_argument(
            "--quarantine",
            action=argparse.BooleanOptionalAction,
            default=True,
            help="move corrupt files to quarantine/<their key> (the default) or only report them",
        )

    def handle(self, *args, rate=0, sample=1.0, seed=0, restart=False, quarantine=True, **opts):
        path = scrub_state.state_path()
        state = self._state(path, restart, sample, seed)
        progress = Progress(lambda text: self.stdout.write(text, ending=""), self.stdout.isatty())
        show = self._show(progress, state)
        scrub = Scrub(
            state,
            throttle=Throttle(rate * MB),
            quarantine=quarantine,
            report=lambda finding: progress.say(str(finding)),
            progress=show,
            save=lambda: scrub_state.save(path, state),
        )
        try:
            scrub.run()
        except KeyboardInterrupt:
            raise CommandError(
                f"Stopped after {state.last_key or 'no file'} ({state.checked:,} checked). "
                "Run scrub again to go on from there, or with --restart to start over.",
                returncode=130,
            ) from None
        finally:
            progress.close()
            scrub_state.save(path, state)
        self._summary(state)

    def _state(self, path, restart: bool, sample: float, seed: int) -> ScrubState:
        saved = None if restart else scrub_state.load(path)
        if saved and not saved.finished and (saved.sample, saved.seed) == (sample, seed):
            after = f", after {saved.last_key}" if saved.last_key else ""
            self.stdout.write(
                f"Going on with the scrub started {saved.started_at}{after} "
                f"({saved.checked:,} checked, {saved.problem_count} problem(s) so far)."
            )
            return saved
        if saved and not saved.finished:
            self.stdout.write("An unfinished scrub had another --sample or --seed: starting over.")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        return ScrubState(sample=sample, seed=seed, started_at=now)

    def _show(self, progress: Progress, state: ScrubState):
        started, read_before = monotonic(), state.bytes_read

        def show(kind: str, fraction: float) -> None:
            speed = (state.bytes_read - read_before) / MB / max(monotonic() - started, 1e-9)
            progress.update(
                fraction,
                f"{kind}: {state.checked:,} checked, {state.bytes_read / MB:,.1f} MB read "
                f"({speed:,.1f} MB/s), {state.problem_count} problem(s)",
            )

        return show

    def _summary(self, state: ScrubState) -> None:
        sampled = f" (a {state.sample:g} sample)" if state.sample < 1 else ""
        found = ", ".join(f"{n} {problem}" for problem, n in state.problems.items())
        self.stdout.write(
            f"Checked {state.checked:,} file(s){sampled}, {state.bytes_read / MB:,.1f} MB read: "
            f"{found}."
        )
        if state.problem_count:
            moved = " Corrupt files are in quarantine/." if state.problems["corrupt"] else ""
            raise CommandError(
                f"{state.problem_count} problem(s) found, each listed when found.{moved}",
                returncode=1,
            )
