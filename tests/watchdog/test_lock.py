import os
import signal
import socket
import subprocess
import sys

import pytest

from fundus_watchdog.lock import AlreadyRunning, InstanceLock


def test_a_second_instance_is_refused_with_the_holders_pid(tmp_path):
    path = tmp_path / "state" / "watchdog.lock"
    with InstanceLock(path):
        with pytest.raises(AlreadyRunning, match=rf"pid {os.getpid()}"):
            InstanceLock(path).acquire()
    with InstanceLock(path):  # released
        pass


def test_the_lock_dies_with_its_process(tmp_path):
    # A killed watchdog must not leave a stale lock behind: the OS releases it.
    path = tmp_path / "watchdog.lock"
    code = f"from fundus_watchdog.lock import InstanceLock; InstanceLock({str(path)!r}).acquire(); print('locked', flush=True); input()"
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(AlreadyRunning):
            InstanceLock(path).acquire()
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        holder.stdin.close()
        holder.stdout.close()
    with InstanceLock(path):
        pass


def test_it_is_a_file_lock_not_the_newer_clients_port(tmp_path, monkeypatch):
    # 127.0.0.1:51742 stays free for the published newer client: the lock opens no socket at all
    # (seen by recording sockets, not by binding the real port, which another process may hold).
    opened = []

    class RecordedSocket(socket.socket):
        def __init__(self, *args, **kwargs):
            opened.append(args)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(socket, "socket", RecordedSocket)
    with InstanceLock(tmp_path / "watchdog.lock"):
        with pytest.raises(AlreadyRunning):
            InstanceLock(tmp_path / "watchdog.lock").acquire()
    assert opened == []
    with socket.create_server(("127.0.0.1", 0)):  # the recorder sees sockets when there are some
        pass
    assert len(opened) == 1
