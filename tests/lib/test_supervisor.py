"""The demo's supervisor: a child process that dies is started again, with back-off, and logged."""

import logging
import os
import signal
import subprocess
import sys
import threading
import time

from fundushub.lib.supervisor import Supervisor


def python(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code])


def terminate(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()


def wait_until(condition, timeout=20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_killed_process_is_started_again_and_the_restart_is_logged(caplog):
    caplog.set_level(logging.WARNING, logger="fundushub.lib.supervisor")
    spawned = []

    def spawn():
        spawned.append(python("import time; time.sleep(60)"))
        return spawned[-1]

    supervisor = Supervisor("worker", spawn, terminate, first_delay=0.1).start(interval=0.05)
    try:
        first = supervisor.process
        os.kill(first.pid, signal.SIGKILL)
        assert wait_until(lambda: supervisor.restarts == 1), "the killed worker was not restarted"
        assert supervisor.process is not first and supervisor.process.poll() is None
    finally:
        supervisor.stop()
    assert all(p.poll() is not None for p in spawned), "stop() left a process running"
    assert f"The worker stopped (exit code {-signal.SIGKILL})" in caplog.text


def test_a_process_that_keeps_dying_is_restarted_ever_more_slowly_up_to_the_limit():
    now = [0.0]
    supervisor = Supervisor(
        "worker",
        lambda: python("raise SystemExit(3)"),
        terminate,
        first_delay=0.01,
        max_delay=0.04,
        healthy_after=60,
        clock=lambda: now[0],
    )
    supervisor.start(interval=3600)  # the test looks itself, with check()
    waits = []
    try:
        for _ in range(4):
            supervisor.process.wait(10)
            waits.append(supervisor.delay)
            assert supervisor.check() is True
    finally:
        supervisor.stop()
    assert waits == [0.01, 0.02, 0.04, 0.04]
    assert supervisor.restarts == 4


def test_a_process_that_ran_for_a_while_is_restarted_promptly_again():
    now = [0.0]
    supervisor = Supervisor(
        "worker",
        lambda: python("raise SystemExit(1)"),
        terminate,
        first_delay=0.01,
        max_delay=10,
        healthy_after=30,
        clock=lambda: now[0],
    )
    supervisor.start(interval=3600)
    try:
        supervisor.delay = 8  # it had been dying quickly before
        now[0] += 31  # but this run lasted longer than healthy_after
        supervisor.process.wait(10)
        assert supervisor.check() is True
        assert supervisor.delay == 0.02  # waited first_delay, next wait doubles from there
    finally:
        supervisor.stop()


def test_a_running_process_is_left_alone():
    supervisor = Supervisor("worker", lambda: python("import time; time.sleep(60)"), terminate)
    supervisor.start(interval=3600)
    try:
        assert supervisor.check() is False and supervisor.restarts == 0
    finally:
        supervisor.stop()


def test_nothing_is_restarted_once_stop_was_asked(caplog):
    caplog.set_level(logging.WARNING, logger="fundushub.lib.supervisor")
    readings = []

    def clock():  # read at the launch, then when a look finds the process gone
        readings.append(None)
        return time.monotonic()

    supervisor = Supervisor(
        "worker", lambda: python("raise SystemExit(0)"), terminate, first_delay=3600, clock=clock
    )
    supervisor.start(interval=0.05)
    supervisor.process.wait(10)
    assert wait_until(lambda: len(readings) >= 2)  # it has seen the exit: now in its back-off
    stopping = threading.Thread(target=supervisor.stop, daemon=True)
    stopping.start()
    stopping.join(timeout=60)  # the back-off is an hour: this only guards stop() waiting it out
    assert not stopping.is_alive(), "stop() waited out the back-off"
    assert supervisor.restarts == 0 and "stopped" not in caplog.text
