"""Hold a long read (a scrub, a copy) to a byte rate, so it leaves the disk to the site.

The clock and sleep are looked up at call time, so tests replace them instead of waiting.
"""

from time import monotonic, sleep

# Time a throttle may catch up after a pause (e.g. a slow listing): bounded bursts, not none.
SLACK_SECONDS = 1.0


class Throttle:
    """Sleeps after each piece read, as long as keeps the average at `rate` bytes/s (0: no limit)."""

    def __init__(self, rate: float):
        self.rate = rate
        self._due: float | None = None

    def spent(self, n: int) -> None:
        if not self.rate or n <= 0:
            return
        now = monotonic()
        start = now if self._due is None else max(self._due, now - SLACK_SECONDS)
        self._due = start + n / self.rate
        if self._due > now:
            sleep(self._due - now)
