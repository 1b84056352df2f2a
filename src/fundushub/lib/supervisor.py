"""Keep a child process running: start it again when it exits, waiting longer after each quick death.

`fundushub demo` runs its task worker (and the simulated camera's watchdog) as child processes; one
that dies (killed, out of memory, a crash) would otherwise leave uploads "Processing" for ever. The
first restart comes after `first_delay` seconds; each death soon after a start doubles the wait, up
to `max_delay`, so a process that cannot start does not spin; one that ran `healthy_after` seconds
is restarted promptly again. Every death and restart is logged.
"""

import logging
import subprocess
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Supervisor:
    def __init__(
        self,
        name: str,
        spawn: Callable[[], subprocess.Popen],
        stop: Callable[[subprocess.Popen], None],
        *,
        first_delay: float = 1.0,
        max_delay: float = 60.0,
        healthy_after: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.name = name
        self.spawn = spawn
        self.stop_process = stop
        self.first_delay, self.max_delay, self.healthy_after = first_delay, max_delay, healthy_after
        self.clock = clock
        self.delay = first_delay
        self.restarts = 0
        self.process: subprocess.Popen | None = None
        self.started_at = 0.0
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, interval: float = 1.0, running: subprocess.Popen | None = None) -> "Supervisor":
        """Start the process (or adopt `running`), and a thread that looks at it every `interval` s."""
        if running is None:
            self._launch()
        else:
            self.process, self.started_at = running, self.clock()
        self._thread = threading.Thread(
            target=self._watch, args=(interval,), name=f"supervise-{self.name}", daemon=True
        )
        self._thread.start()
        return self

    def _launch(self) -> None:
        self.process = self.spawn()
        self.started_at = self.clock()

    def _watch(self, interval: float) -> None:
        while not self._halt.wait(interval):
            try:
                self.check()
            except Exception:  # e.g. spawning failed: keep supervising, try again later
                log.exception("Could not start the %s again; trying later", self.name)

    def check(self) -> bool:
        """One look: if the process has exited, wait the back-off and start it again (True).

        The wait comes before the log line, so a process that exits because the whole demo is
        stopping (Ctrl+C reaches every process of the terminal) is neither logged nor restarted.
        """
        code = self.process.poll()
        if code is None:
            return False
        lived = self.clock() - self.started_at
        if lived >= self.healthy_after:
            self.delay = self.first_delay
        if self._halt.wait(self.delay):
            return False
        log.warning(
            "The %s stopped (exit code %s) after running %.0f s; starting it again after %g s",
            self.name,
            code,
            lived,
            self.delay,
        )
        self.delay = min(self.delay * 2, self.max_delay)
        self._launch()
        self.restarts += 1
        return True

    def stop(self) -> None:
        """Stop supervising, then stop the process (no restart can happen after this)."""
        self._halt.set()
        if self._thread is not None:
            self._thread.join()
        if self.process is not None:
            self.stop_process(self.process)
