"""Progress of a long command: a bar redrawn in place on a terminal, a plain line now and then in a
log (a cron job's or a service's), where carriage returns would only make noise."""

from collections.abc import Callable
from time import monotonic

WIDTH = 30


class Progress:
    """`update(fraction, text)` as often as you like; `say(line)` prints a line above the bar.

    write: puts text out as given (no newline added); tty: whether that is a terminal.
    """

    def __init__(self, write: Callable[[str], object], tty: bool, every: float = 60.0):
        self._write = write
        self.tty = tty
        self.every = 0.2 if tty else every
        self._last = monotonic()
        self._bar = ""

    def update(self, fraction: float, text: str, force: bool = False) -> None:
        now = monotonic()
        if not force and now - self._last < self.every:
            return
        self._last = now
        fraction = min(max(fraction, 0.0), 1.0)
        if not self.tty:
            self._write(f"{fraction:.0%} {text}\n")
            return
        filled = round(fraction * WIDTH)
        self._bar = f"[{'#' * filled}{'.' * (WIDTH - filled)}] {fraction:4.0%} {text}"
        self._write(f"\r\x1b[K{self._bar}")

    def say(self, line: str) -> None:
        if self._bar:
            self._write(f"\r\x1b[K{line}\n{self._bar}")
        else:
            self._write(f"{line}\n")

    def close(self) -> None:
        if self._bar:
            self._write("\r\x1b[K")
        self._bar = ""
