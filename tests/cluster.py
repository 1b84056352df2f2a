"""Several nodes of ours on loopback, for tests/test_many_nodes.py: a PostgreSQL database made for
the test, and web and worker processes that share only that database, the secret key and a
bucket prefix. Each process gets a data folder of its own, so nothing can pass between them
through a shared disk.

Every process runs in its own process group and is stopped (or killed) with it at the end.
"""

import os
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.test_cli import FUNDUSHUB, free_port

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
# What a child must not inherit from the test run: it gets its own database, key and storage.
NOT_INHERITED = ("FUNDUSHUB_", "DATABASE_URL", "SECRET_KEY", "AWS_", "PROMETHEUS_MULTIPROC_DIR")


def ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason: str):
    """Skip locally; under CI=true the test is required, so fail instead."""
    if ci():
        pytest.fail(f"{reason} (CI=true: this test is required)", pytrace=False)
    pytest.skip(reason)


def postgres_server() -> str:
    """The server of DATABASE_URL when that is PostgreSQL, else the local default."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return urlsplit(url)._replace(path="/postgres").geturl()
    return DEFAULT_POSTGRES


class Database:
    """A fresh PostgreSQL database on `server`, dropped by drop() whatever is still connected."""

    def __init__(self, server: str):
        self.server = server
        self.name = f"manynodes_{secrets.token_hex(4)}"
        self.url = urlsplit(server)._replace(path=f"/{self.name}").geturl()
        self._connection = None

    def create(self) -> "Database":
        with psycopg.connect(self.server, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'CREATE DATABASE "{self.name}"')
        return self

    def query(self, sql: str, *params) -> list[tuple]:
        if self._connection is None:
            self._connection = psycopg.connect(self.url, autocommit=True)
        return self._connection.execute(sql, params).fetchall()

    def value(self, sql: str, *params):
        return self.query(sql, *params)[0][0]

    def drop(self) -> None:
        if self._connection is not None:
            self._connection.close()
        with psycopg.connect(self.server, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class Cluster:
    """Our processes, each started with `env` and a new data folder under `root`."""

    def __init__(self, root: Path, env: dict):
        self.root = root
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(NOT_INHERITED)}
        self.env.update(env, PYTHONUNBUFFERED="1")
        self.children: list[subprocess.Popen] = []
        self._folders = 0

    def folder(self, role: str) -> Path:
        self._folders += 1
        path = self.root / f"{role}-{self._folders}"
        path.mkdir()
        return path

    def manage(self, *args: str) -> str:
        """`fundushub manage ARGS` in a data folder of its own; its output."""
        env = self.env | {"FUNDUSHUB_DATA_DIR": str(self.folder("manage"))}
        done = subprocess.run(
            [*FUNDUSHUB, "manage", *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"manage {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def finished(self, proc: subprocess.Popen, timeout: float = 120) -> str:
        """Wait for a process spawned to do one thing; its output, if it succeeded."""
        proc.wait(timeout=timeout)
        assert proc.returncode == 0, f"{proc.args}:\n{log_of(proc)}"
        return log_of(proc)

    def spawn(self, role: str, *args: str) -> subprocess.Popen:
        folder = self.folder(role)
        env = self.env | {"FUNDUSHUB_DATA_DIR": str(folder)}
        with open(folder / "output.log", "wb") as log:
            proc = subprocess.Popen(
                [*FUNDUSHUB, *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        proc.folder = folder
        self.children.append(proc)
        return proc

    def serve(self) -> subprocess.Popen:
        """A web node (one gunicorn process) on a free port; `proc.url` once it listens."""
        port = free_port()
        proc = self.spawn("web", "serve", "--port", str(port), "--processes", "1", "--threads", "4")
        proc.url = f"http://127.0.0.1:{port}"
        proc.port = port
        return proc

    def worker(self) -> subprocess.Popen:
        return self.spawn("worker", "worker")

    def wait_listening(self, proc: subprocess.Popen, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"a web node exited at start-up:\n{log_of(proc)}")
            try:
                socket.create_connection(("127.0.0.1", proc.port), timeout=0.5).close()
                return proc.url
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"a web node did not listen:\n{log_of(proc)}") from None
                time.sleep(0.1)

    def kill(self, proc: subprocess.Popen) -> None:
        """SIGKILL: no clean-up, no goodbye, as when a machine loses power."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop(self) -> None:
        for proc in self.children:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.children:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def logs(self, role: str) -> str:
        return "\n".join(log_of(p) for p in self.children if p.folder.name.startswith(f"{role}-"))


def log_of(proc: subprocess.Popen) -> str:
    return (proc.folder / "output.log").read_text(errors="replace")
