"""The running watchdog: filesystem events, a periodic sweep and a startup scan feed one
scheduler thread, which hands examinations whose files are all stable to a bounded worker pool.

Events only mark a subject folder as "look at this again" (observers can miss files, and
inotify/ReadDirectoryChangesW buffers can overflow), so the event thread never blocks and never
decides anything; the sweep every `sweep_interval` seconds is the safety net.
"""

import logging
import os
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from watchdog.events import FileSystemEventHandler
from watchdog.observers import Observer

from .camera_db import CameraDb
from .client import CameraApi
from .config import Config
from .errors import ApiError, advice
from .examination import Examinations, Outcome, Result, recover_moves
from .folder_state import FolderState, failure_backoff
from .folders import candidate_files, subject_folder_of, subject_folders, subject_identifier
from .journal import Journal
from .paths import make_state_dir
from .stability import StabilityTracker

log = logging.getLogger(__name__)
LOCKED_RETRY_SECONDS = 5.0
POLL_SECONDS = 2.0
ONCE_LOCKED_TRIES = 3


class _Events(FileSystemEventHandler):
    def __init__(self, poke):
        self.poke = poke

    def on_any_event(self, event):
        if event.event_type in ("opened", "closed_no_write"):
            return
        self.poke(os.fsdecode(event.src_path))
        if getattr(event, "dest_path", ""):
            self.poke(os.fsdecode(event.dest_path))  # a rename/move into a subject folder


class Watchdog:
    def __init__(self, config: Config, *, api: CameraApi | None = None, clock=time.monotonic):
        self.config = config
        self.clock = clock
        self.stop_event = threading.Event()
        self.api = api or CameraApi(
            config.api_url,
            config.token,
            timeout=config.request_timeout,
            retries=config.retries,
            retry_delay=config.retry_delay,
            max_retry_delay=config.max_retry_delay,
            stop_event=self.stop_event,
        )
        self.api.stop_event = self.stop_event
        make_state_dir(config.state_dir)
        self.journal = Journal(config.journal_path)
        self.examinations = Examinations(
            config, self.api, self.journal, CameraDb(config), self.stop_event
        )
        self.tracker = StabilityTracker(config.stable_seconds, config.stability_timeout, clock)
        self.finished: dict[str, Result] = {}  # folder name -> how it ended (archived, rejected...)
        self._folders: dict[Path, FolderState] = {}
        # Folder name -> the journal's problem entry from before this start, read once in
        # _prepare (poke() may not touch the disk): a failing folder's pause resumes from it.
        self._resume: dict = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pool = ThreadPoolExecutor(
            max_workers=config.workers, thread_name_prefix="fundus-upload"
        )
        self._observer = None
        self._thread = None
        self._once = False

    # lifecycle ------------------------------------------------------------------------------

    def start(self) -> "Watchdog":
        """Recover, start watching, start the scheduler (the startup scan is its first sweep)."""
        self._prepare()
        # Archiving renames a watched folder inside the watched tree (processed/ is in the watch
        # folder, as documented); Linux inotify keeps the folder's watch descriptor, and watchdog
        # warns that it re-registers the same callback. Harmless, and nothing to tell an operator.
        warnings.filterwarnings(
            "ignore", r"Callback with id '\d+' already exists for watch", RuntimeWarning
        )
        if not self.config.polling:
            observer = Observer()
            observer.schedule(_Events(self.poke), str(self.config.watch_dir), recursive=True)
            observer.start()
            self._observer = observer
        self._thread = threading.Thread(target=self._loop, name="fundus-scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop cleanly: no new work, in-flight uploads end their current request, state saved."""
        self.stop_event.set()
        self._wake.set()
        if self._thread:
            self._thread.join()
        if self._observer:
            self._observer.stop()
            self._observer.join()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.api.close()
        self.journal.close()

    def run_forever(self) -> None:
        self.start()
        try:
            while not self.stop_event.wait(0.5):  # short waits keep Ctrl+C responsive on Windows
                pass
        except KeyboardInterrupt:
            log.info("stopping (Ctrl+C or a stop request)")
        finally:
            self.stop()
        log.info("stopped")

    def run_once(self) -> int:
        """Process what is in the watch folder now; 0 if every examination found was archived."""
        self._once = True
        self._prepare()
        try:
            self._loop()
        except KeyboardInterrupt:
            log.info("stopping (Ctrl+C or a stop request)")
            return 130
        finally:
            self.stop()
        archived = [n for n, r in self.finished.items() if r.outcome is Outcome.ARCHIVED]
        others = {n: r for n, r in self.finished.items() if r.outcome is not Outcome.ARCHIVED}
        log.info("--once: %d archived, %d not archived", len(archived), len(others))
        for name, result in sorted(others.items()):
            log.warning("not archived: %s: %s %s", name, result.outcome.value, result.message)
        return 0 if not others else 1

    def _prepare(self) -> None:
        c = self.config
        log.info(
            "watching %s -> %s (report type %s, %d workers)",
            c.watch_dir,
            c.api_url,
            c.report_type,
            c.workers,
        )
        recover_moves(self.journal)
        for entry in self.journal.subjects():
            if entry.state in ("failing", "blocked"):
                self._resume[entry.folder] = entry
                when = (
                    f"; next try at {_clock_time(entry.next_attempt)}"
                    if entry.state == "failing" and entry.next_attempt
                    else "; looked at again now (staff may have fixed it)"
                )
                log.warning(
                    "subject %s (%s) was %s before the restart after %d attempts%s: %s",
                    entry.subject_identifier,
                    entry.folder,
                    entry.state,
                    entry.attempts,
                    when,
                    entry.last_error,
                )
        try:
            self.api.ping(retries=1)
            log.info("server %s is reachable", c.api_url)
        except ApiError as exc:
            log.warning("%s (the watchdog keeps trying)", advice(exc, "", c.api_url))

    # scheduling -----------------------------------------------------------------------------

    def poke(self, path) -> None:
        """Called from the event thread: remember the folder, wake the scheduler, return at once."""
        folder = subject_folder_of(Path(path), self.config)
        if folder is None:
            return
        with self._lock:
            state = self._folders.get(folder) or self._new_folder(folder)
            state.dirty = True
            if state.blocked:
                state.not_before = 0.0
        self._wake.set()

    def _sweep(self) -> None:
        folders = set(subject_folders(self.config))
        with self._lock:
            for folder in folders:
                (self._folders.get(folder) or self._new_folder(folder)).dirty = True
            for folder in [
                f for f, s in self._folders.items() if f not in folders and not s.in_flight
            ]:
                del self._folders[folder]
                self.tracker.forget_under(folder)

    def _new_folder(self, folder: Path) -> FolderState:
        """Start tracking a folder (under self._lock). A folder that was failing before this start
        keeps its attempt count and waits until the journal's next-try time, not the 60 s a first
        failure gets; a blocked one is looked at again now, as staff may have fixed it meanwhile."""
        now = self.clock()
        state = self._folders[folder] = FolderState(now)
        entry = self._resume.pop(folder.name, None)
        if entry is None:
            return state
        state.failures = entry.attempts
        if entry.state != "failing" or not entry.next_attempt:
            return state
        wait = min(entry.next_attempt - time.time(), self.config.failure_backoff_max)
        if wait > 0:
            state.next_check = state.not_before = now + wait
            message = (
                f"{entry.last_error} (attempt {entry.attempts};"
                f" next try at {_clock_time(entry.next_attempt)})"
            )
            self._settle(folder, state, Result(Outcome.FAILED, message))  # --once does not wait
        return state

    def _loop(self) -> None:
        next_sweep = 0.0
        while not self.stop_event.is_set():
            now = self.clock()
            if now >= next_sweep and not (self._once and next_sweep):
                self._sweep()  # the first one is the startup scan
                next_sweep = now + self._sweep_interval()
            with self._lock:
                due = [
                    f
                    for f, s in self._folders.items()
                    if not s.in_flight
                    and s.settled is None
                    and s.not_before <= now
                    and (s.dirty or s.next_check <= now)
                ]
            for folder in due:
                try:
                    self._evaluate(folder, now)
                except Exception:  # the scheduler must outlive any one folder's surprise
                    log.exception("unexpected error looking at %s", folder)
            with self._lock:
                if self._once and all(s.settled for s in self._folders.values()):
                    return
                wakeups = [
                    max(s.next_check, s.not_before)
                    for s in self._folders.values()
                    if not s.in_flight and s.settled is None
                ]
            until = min([next_sweep, *wakeups]) - self.clock()
            self._wake.wait(min(1.0, max(0.01, until)))
            self._wake.clear()

    def _sweep_interval(self) -> float:
        # Polling (drives that send no events): our own sweep, often, instead of watchdog's
        # PollingObserver, which would re-walk the ever-growing processed/ tree on every poll.
        return (
            min(self.config.sweep_interval, POLL_SECONDS)
            if self.config.polling
            else self.config.sweep_interval
        )

    def _evaluate(self, folder: Path, now: float) -> None:
        with self._lock:
            state = self._folders.get(folder)
            if state is None:
                return
            state.dirty = False
            state.next_check = float("inf")  # until an event, the sweep, or a reason below
        if not folder.is_dir():
            with self._lock:
                self._folders.pop(folder, None)
            self.tracker.forget_under(folder)
            return
        files = candidate_files(folder)
        stable = [self.tracker.observe(p) for p in files]  # observe all: each starts its own clock
        if not files or not all(stable):
            for path in files:
                if self.tracker.overdue(path):
                    log.warning(
                        "%s is still being written after %g s; it is not uploaded until it stops changing",
                        path,
                        self.config.stability_timeout,
                    )
            with self._lock:
                if files:
                    state.next_check = now + max(
                        0.02, max(self.tracker.wait_left(p) for p in files)
                    )
                if self._once and (
                    not files or now - state.first_seen > self.config.stability_timeout
                ):
                    why = "files still changing" if files else "no files yet"
                    self._settle(folder, state, Result(Outcome.WAITING, why))
            return
        with self._lock:
            state.in_flight = True
        self._pool.submit(self._work, folder, files)

    def _work(self, folder: Path, files: list[Path]) -> None:
        try:
            result = self.examinations.process(folder, files)
        except Exception as exc:  # a bug must not kill the worker; the folder is retried later
            log.exception("unexpected error on %s", folder)
            result = Result(Outcome.FAILED, f"unexpected error: {exc!r}")
        self._done(folder, result)

    def _done(self, folder: Path, result: Result) -> None:
        subject = subject_identifier(folder.name, self.config) or folder.name
        outcome, now = result.outcome, self.clock()
        problem, say = None, None
        with self._lock:  # no disk or network I/O while holding it: poke() waits on this lock
            state = self._folders.get(folder) or FolderState(now)
            state.in_flight = False
            recovered = outcome not in (Outcome.FAILED, Outcome.BLOCKED, Outcome.STOPPED)
            had_failures = recovered and state.failures > 0
            if outcome in (Outcome.ARCHIVED, Outcome.REJECTED, Outcome.GONE):
                self._folders.pop(folder, None)
                self.tracker.forget_under(folder)
                if self._once:
                    self.finished[folder.name] = result
            elif outcome in (Outcome.FAILED, Outcome.BLOCKED):
                state.failures += 1
                delay = failure_backoff(self.config, state.failures, result.retry_after)
                state.next_check = state.not_before = now + delay
                state.blocked = outcome is Outcome.BLOCKED
                problem = (
                    "failing" if outcome is Outcome.FAILED else "blocked",
                    state.failures,
                    delay,
                )
                self._settle(folder, state, result)
            elif outcome is Outcome.LOCKED:
                state.locked_tries += 1
                state.next_check = now + min(LOCKED_RETRY_SECONDS, self.config.sweep_interval)
                say = state.news(result, logging.INFO)
                if state.locked_tries >= ONCE_LOCKED_TRIES:
                    self._settle(folder, state, result)
            elif outcome is Outcome.WAITING:
                # Re-check now and then without events: the camera may write its database rows late.
                recheck = min(self.config.sweep_interval, max(5.0, 2 * self.config.stable_seconds))
                state.next_check = now + recheck
                unmapped = "cannot tell the eye" in result.message
                say = state.news(result, logging.WARNING if unmapped else logging.INFO)
                self._settle(folder, state, result)
            if recovered:
                state.failures, state.not_before, state.blocked = 0, 0.0, False
        if say:
            log.log(say[0], "%s", say[1])
        if problem:
            kind, attempts, delay = problem
            self.journal.record_problem(
                folder.name, subject, kind, result.message, time.time() + delay
            )
            log.warning("%s (attempt %d; next try in %.3g s)", result.message, attempts, delay)
        elif had_failures:
            self.journal.clear_problem(folder.name)
        self._wake.set()

    def _settle(self, folder: Path, state: FolderState, result: Result) -> None:
        if self._once:
            state.settled = result
            self.finished[folder.name] = result


def _clock_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime("%H:%M:%S")
