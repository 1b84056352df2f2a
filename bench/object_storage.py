"""Where a benchmark's server keeps its bytes: local files (the default), or an S3 bucket on a
SeaweedFS server the benchmark starts on loopback for the run (the tests' launcher, tests/s3.py).

The floor then stores the same bytes the same way: written and fsynced into a scratch folder, or
one PUT per blob into the same bucket under a prefix of its own (the server's keys never meet the
floor's, so neither finds the other's objects already there).
"""

import sys
from pathlib import Path

from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parent.parent
STORAGES = ("local", "s3")


def add_argument(parser) -> None:
    parser.add_argument(
        "--storage",
        choices=STORAGES,
        default="local",
        help="where the server keeps its bytes: local files, or an S3 bucket on a SeaweedFS "
        "server started on loopback for the run (default local)",
    )


def open_storage(kind: str, root: Path):
    if kind == "s3":
        print("starting SeaweedFS (S3 on loopback) ...", flush=True)
        return Bucket(root)
    return LocalFiles()


class LocalFiles:
    label = "local files"
    env: dict = {}
    cpu_roles: dict = {}
    put = None  # the floor writes and fsyncs into its scratch folder itself

    def has(self, data_dir: Path, key: str) -> bool:
        return (data_dir / "media" / key).is_file()

    def stop(self) -> None:
        pass


class Bucket:
    """A fresh SeaweedFS; the server's processes get its endpoint and credentials in their env."""

    label = "S3 (SeaweedFS on loopback)"

    def __init__(self, root: Path):
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        from tests.s3 import BUCKET, SeaweedS3

        self.bucket = BUCKET
        self.server = SeaweedS3(root).start()
        self.client = self.server.client()
        self.env = self.server.environ(prefix="server")
        self.cpu_roles = {"s3": [self.server.process.pid]}

    def put(self, key: str, data: bytes) -> None:
        """The floor's store: one PUT, complete when it returns (as the server's writes are)."""
        self.client.put_object(Bucket=self.bucket, Key=f"floor/{key}", Body=data)

    def has(self, data_dir: Path, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=f"server/{key}")
        except ClientError:
            return False
        return True

    def stop(self) -> None:
        self.server.stop()
