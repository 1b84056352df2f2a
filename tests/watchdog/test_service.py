import contextlib
import logging
import os
import re
import threading
import time

import pytest

from fundus_watchdog import service
from fundus_watchdog.journal import Journal
from fundus_watchdog.service import Watchdog
from fundus_watchdog.simulate import Camera

from .conftest import SUBJECT, registered_exam, wait_for

WINDOW = 0.3


class NoEvents:
    """An observer that never reports anything: only the startup scan and the sweep remain."""

    def __init__(self, *args, **kwargs):
        pass

    def schedule(self, *args, **kwargs):
        pass

    def start(self):
        pass

    def stop(self):
        pass

    def join(self, *args):
        pass


@contextlib.contextmanager
def running(config):
    watchdog = Watchdog(config).start()
    try:
        yield watchdog
    finally:
        watchdog.stop()


@contextlib.contextmanager
def in_background(target, *args):
    thread = threading.Thread(target=target, args=args)
    thread.start()
    try:
        yield thread
    finally:
        thread.join()


class MovableClock:
    """The scheduler's clock: real time plus a jump the test makes, counting its readings.

    Jumping it makes a pause due without waiting for it; the readings show the scheduler went
    round its loop, so a test can see that something did *not* happen, without timing it."""

    def __init__(self):
        self.offset, self.readings = 0.0, 0

    def __call__(self):
        self.readings += 1
        return time.monotonic() + self.offset

    def jump(self, seconds):
        self.offset += seconds


def scheduler_went_round(watchdog, clock, folder):
    """Poke the folder and wait until the scheduler has looked at its folders since."""
    before = clock.readings
    watchdog.poke(folder / "any")
    # A whole loop reads the clock at its start and its end; four readings cover one begun after.
    assert wait_for(lambda: clock.readings >= before + 4)


def paused(watchdog, clock, folder):
    """The scheduler holds the folder back: its next try is still ahead of the clock."""
    return watchdog._folders[folder].not_before > clock()


def logged_pauses(caplog):
    """The pauses the watchdog announced after each failure, in order."""
    return [float(p) for p in re.findall(r"next try in ([0-9.e+]+) s", caplog.text)]


def slow_camera(watch_dir, delay=0.05):
    """Writes each file in small chunks with pauses shorter than the stability window."""
    return Camera(watch_dir, chunk_size=256, chunk_delay=delay, image_size=(64, 48), seed=2)


def archived(watch_dir):
    folder = watch_dir / "processed"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def assert_nothing_went_up_early(stub, folder):
    """Each file reached the server only after it had stopped changing for the whole window."""
    uploads = stub.uploads()
    assert uploads
    for upload in uploads:
        last_write = os.stat(folder / upload["filename"]).st_mtime
        assert upload["time"] >= last_write + WINDOW - 0.02, upload["filename"]


def test_files_written_slowly_are_never_uploaded_early_on_the_event_path(
    stub, make_config, watch_dir
):
    config = make_config(stub, stable_seconds=WINDOW, sweep_interval=60)  # no sweep: events only
    camera = slow_camera(watch_dir)
    with running(config):
        stub.register(SUBJECT)
        exam = camera.examination(SUBJECT, demographics={"initials": "AB", "sex": "M", "age": 50})
        assert wait_for(lambda: archived(watch_dir))
    (name,) = archived(watch_dir)
    assert_nothing_went_up_early(stub, watch_dir / "processed" / name)
    assert len(stub.created) == len(exam.files) == 3


def test_files_written_slowly_are_never_uploaded_early_on_the_sweep(
    stub, make_config, watch_dir, monkeypatch
):
    monkeypatch.setattr(service, "Observer", NoEvents)
    config = make_config(stub, stable_seconds=WINDOW, sweep_interval=0.2)
    camera = slow_camera(watch_dir)
    with running(config):
        stub.register(SUBJECT)
        camera.examination(SUBJECT, demographics={"initials": "AB", "sex": "M", "age": 50})
        assert wait_for(lambda: archived(watch_dir))
    assert_nothing_went_up_early(stub, watch_dir / "processed" / archived(watch_dir)[0])


def test_a_file_still_being_written_at_start_up_is_not_uploaded_early(
    stub, make_config, watch_dir, monkeypatch
):
    monkeypatch.setattr(service, "Observer", NoEvents)  # only the startup scan can find it
    config = make_config(stub, stable_seconds=WINDOW, sweep_interval=60)
    exam = registered_exam(Camera(watch_dir, chunk_delay=0, image_size=(64, 48), seed=3), stub)
    report = watch_dir / SUBJECT / exam.files[2].name
    content = report.read_bytes()
    started = threading.Event()

    def rewrite_slowly():
        with open(report, "wb") as f:
            for i in range(0, len(content), 100):
                f.write(content[i : i + 100])
                f.flush()
                started.set()
                time.sleep(0.1)

    with in_background(rewrite_slowly):
        started.wait()
        with running(config):
            assert wait_for(lambda: archived(watch_dir))
    assert_nothing_went_up_early(stub, watch_dir / "processed" / archived(watch_dir)[0])


def test_a_subject_folder_moved_in_and_files_renamed_in_are_seen(
    stub, make_config, watch_dir, tmp_path
):
    config = make_config(stub, stable_seconds=0.1, sweep_interval=60)  # events only
    staging = tmp_path / "staging"
    camera = Camera(
        staging, db_path=watch_dir / "camera.db", chunk_delay=0, image_size=(64, 48), seed=4
    )
    first = registered_exam(camera, stub, subject="105-10-0001-2")
    second = registered_exam(camera, stub, subject="105-10-0002-4")
    (watch_dir / second.folder).mkdir()
    with running(config):
        os.replace(staging / first.folder, watch_dir / first.folder)  # the whole folder moved in
        for f in second.files:  # copied under a temporary name, then renamed, like robocopy does
            (watch_dir / second.folder / f"{f.name}.partial").write_bytes(
                (staging / second.folder / f.name).read_bytes()
            )
            os.replace(
                watch_dir / second.folder / f"{f.name}.partial", watch_dir / second.folder / f.name
            )
        assert wait_for(lambda: len(archived(watch_dir)) == 2)
    assert len(stub.created) == 6


def test_several_subjects_go_up_concurrently_within_the_worker_limit(
    stub, make_config, watch_dir, camera
):
    subjects = [f"105-10-{n:04d}-0" for n in range(6)]
    for subject in subjects:
        registered_exam(camera, stub, subject=subject)
    with running(make_config(stub, workers=2, stable_seconds=0.1)):
        assert wait_for(lambda: len(archived(watch_dir)) == 6)
    assert stub.max_in_flight <= 2
    assert len(stub.created) == 18


def test_a_failing_subject_backs_off_and_is_visible(stub, make_config, watch_dir, camera, caplog):
    registered_exam(camera, stub)
    stub.down = True
    config = make_config(
        stub, stable_seconds=0.05, sweep_interval=60, failure_backoff_max=1000, retries=1
    )
    caplog.set_level(logging.WARNING, "fundus_watchdog")
    clock = MovableClock()
    folder = watch_dir / SUBJECT
    watchdog = Watchdog(config, clock=clock).start()
    try:
        for attempt, pause in ((1, 60), (2, 120), (3, 240)):
            assert wait_for(lambda a=attempt: len(logged_pauses(caplog)) == a)
            # Pauses 60, 120, 240 s (the sweep interval, doubling; +/-10 %), not a fixed 60 s.
            assert 0.9 * pause <= logged_pauses(caplog)[-1] <= 1.1 * pause
            clock.jump(0.8 * pause)
            scheduler_went_round(watchdog, clock, folder)
            assert stub.hits("resolve") == attempt  # not tried again before its pause is over
            assert paused(watchdog, clock, folder)
            clock.jump(0.4 * pause)
            watchdog.poke(folder / "any")
            assert wait_for(lambda a=attempt: stub.hits("resolve") == a + 1)
        # The fourth failure is booked (and its pause taken from the clock) before the clock
        # jumps: booked after, its pause would start past the jump and the retry never come.
        assert wait_for(lambda: len(logged_pauses(caplog)) == 4)
        entry = watchdog.journal.subject(SUBJECT)
        assert entry.state == "failing" and entry.attempts >= 3
        assert "the server had a problem" in entry.last_error
        assert "next try in" in caplog.text
        stub.down = False
        clock.jump(1000)
        watchdog.poke(folder / "any")
        assert wait_for(lambda: archived(watch_dir))
        assert watchdog.journal.subject(SUBJECT) is None
    finally:
        watchdog.stop()


def failing_before_the_restart(config, attempts, next_try_in):
    """The journal of a watchdog stopped while SUBJECT was failing."""
    config.state_dir.mkdir(parents=True, exist_ok=True)
    journal = Journal(config.journal_path)
    for _ in range(attempts):
        journal.record_problem(
            SUBJECT,
            SUBJECT,
            "failing",
            f"subject {SUBJECT}: cannot reach the server at {config.api_url}: connection refused",
            time.time() + next_try_in,
        )
    journal.close()


def test_after_a_restart_a_failing_subject_waits_for_the_journals_next_try(
    stub, make_config, watch_dir, camera, caplog
):
    registered_exam(camera, stub)
    config = make_config(stub, stable_seconds=0.05, sweep_interval=0.2, failure_backoff_max=600)
    failing_before_the_restart(config, attempts=4, next_try_in=300)
    caplog.set_level(logging.WARNING, "fundus_watchdog")
    clock = MovableClock()
    watchdog = Watchdog(config, clock=clock).start()
    try:
        scheduler_went_round(watchdog, clock, watch_dir / SUBJECT)  # the startup scan
        clock.jump(200)  # the files have long been stable; the next try is still ahead
        for _ in range(3):
            scheduler_went_round(watchdog, clock, watch_dir / SUBJECT)
        assert stub.hits("resolve") == 0  # not at the startup scan, nor at the next sweeps
        assert paused(watchdog, clock, watch_dir / SUBJECT)
        clock.jump(101)
        watchdog.poke(watch_dir / SUBJECT / "any")
        assert wait_for(lambda: archived(watch_dir))
    finally:
        watchdog.stop()
    assert "was failing before the restart after 4 attempts; next try at" in caplog.text


def test_after_a_restart_the_attempt_count_goes_on_and_so_does_the_growing_pause(
    stub, make_config, watch_dir, camera, caplog
):
    registered_exam(camera, stub)
    stub.down = True
    config = make_config(
        stub, stable_seconds=0.05, sweep_interval=1, failure_backoff_max=30, retries=1
    )
    failing_before_the_restart(config, attempts=4, next_try_in=-1)  # due now
    caplog.set_level(logging.WARNING, "fundus_watchdog")
    with running(config) as watchdog:
        assert wait_for(lambda: watchdog.journal.subject(SUBJECT).attempts == 5)
        assert wait_for(lambda: logged_pauses(caplog))
        # The fifth failure pauses 1 s x 2**4 = 16 s (+/-10%), not a first failure's 1 s; the
        # log rounds to 0.1 s, so 17.6 may stand for 17.55.
        assert logged_pauses(caplog) == [pytest.approx(16, abs=1.65)]
        assert stub.hits("resolve") == 1


def test_once_does_not_wait_for_a_failing_subjects_next_try_and_says_when_it_is(
    stub, make_config, watch_dir, camera, caplog
):
    registered_exam(camera, stub)
    config = make_config(stub, stable_seconds=0.05, failure_backoff_max=600)
    failing_before_the_restart(config, attempts=3, next_try_in=300)
    caplog.set_level(logging.WARNING, "fundus_watchdog")
    outcome = []
    once = threading.Thread(target=lambda: outcome.append(Watchdog(config).run_once()), daemon=True)
    once.start()
    once.join(timeout=60)  # waiting for the next try would take 300 s: this only guards that hang
    assert not once.is_alive(), "--once waited for the failing subject's next try"
    assert outcome == [1]
    assert stub.hits("resolve") == 0
    assert "connection refused (attempt 3; next try at" in caplog.text


def test_after_a_restart_a_blocked_subject_is_looked_at_again_at_once(
    stub, make_config, watch_dir, camera
):
    registered_exam(camera, stub)
    config = make_config(stub, stable_seconds=0.05, sweep_interval=0.2, failure_backoff_max=10)
    config.state_dir.mkdir(parents=True, exist_ok=True)
    journal = Journal(config.journal_path)
    journal.record_problem(SUBJECT, SUBJECT, "blocked", "a file without eye", time.time() + 600)
    journal.close()
    with running(config):
        assert wait_for(lambda: archived(watch_dir), timeout=5)


def test_stop_is_prompt_even_while_waiting_to_retry(stub, make_config, camera):
    registered_exam(camera, stub)
    stub.down = True
    config = make_config(stub, stable_seconds=0.05, retry_delay=3600, max_retry_delay=3600)
    watchdog = Watchdog(config).start()
    try:
        assert wait_for(lambda: stub.hits("resolve") >= 1)
    finally:
        stopping = threading.Thread(target=watchdog.stop, daemon=True)
        stopping.start()
        stopping.join(timeout=60)  # the retry waits an hour: this only guards stop() waiting it out
    assert not stopping.is_alive(), "stop() waited for the retry"


def test_a_file_still_changing_after_the_stability_timeout_is_reported_and_not_uploaded(
    stub, make_config, watch_dir, camera, caplog
):
    exam = registered_exam(camera, stub)
    growing = watch_dir / SUBJECT / exam.files[0].name
    stop = threading.Event()

    def keep_appending():
        while not stop.wait(0.05):
            with open(growing, "ab") as f:
                f.write(b"\0")

    caplog.set_level(logging.WARNING, "fundus_watchdog")
    config = make_config(stub, stable_seconds=WINDOW, stability_timeout=0.5)
    with in_background(keep_appending), running(config):
        assert wait_for(lambda: "is still being written after 0.5 s" in caplog.text, timeout=5)
        assert stub.uploads() == []
        stop.set()
    assert growing.exists()


def test_once_archives_what_is_ready_and_exits_zero(stub, make_config, watch_dir, camera):
    registered_exam(camera, stub, subject="105-10-0001-2")
    registered_exam(camera, stub, subject="105-10-0002-4", report_type="per_eye")
    config = make_config(stub, stable_seconds=0.1)
    assert Watchdog(config).run_once() == 0
    assert len(archived(watch_dir)) == 2


def test_once_exits_non_zero_when_something_was_not_archived(
    stub, make_config, watch_dir, camera, caplog
):
    registered_exam(camera, stub, subject="105-10-0001-2")
    incomplete = registered_exam(camera, stub, subject="105-10-0002-4")
    (watch_dir / incomplete.folder / incomplete.files[0].name).unlink()
    caplog.set_level(logging.WARNING, "fundus_watchdog")
    assert Watchdog(make_config(stub, stable_seconds=0.1)).run_once() == 1
    assert len(archived(watch_dir)) == 1
    assert (
        "not archived: 105-10-0002-4: waiting subject 105-10-0002-4: waiting for left image"
        in caplog.text
    )


def test_once_with_nothing_to_do_exits_zero(stub, make_config):
    assert Watchdog(make_config(stub)).run_once() == 0


def test_polling_mode_finds_examinations_without_file_events(
    stub, make_config, watch_dir, camera, monkeypatch
):
    monkeypatch.setattr(service, "POLL_SECONDS", 0.2)
    monkeypatch.setattr(service, "Observer", None)  # never used when polling
    with running(make_config(stub, stable_seconds=0.1, sweep_interval=60, polling=True)):
        registered_exam(camera, stub)
        assert wait_for(lambda: archived(watch_dir))
