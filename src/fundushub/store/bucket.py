"""The S3 side of blobs.py: the calls the store needs that django-storages' S3Storage does not make.

- Staging streams a received file into the bucket as it arrives: one PUT for a small file, a
  multipart upload for a large one, so at most one part is held in memory. The object exists
  (the upload completed) only once commit() returns: bytes durable before any row.
- Moving a staged object into place is a server-side copy then a delete: no byte passes through
  this process, so any worker on any machine can do it.
- A listing carries each object's modification time (one request per thousand objects, not one
  per object), for the sweep.
- Serving reads the object's body as it is sent, not after a full copy to a temporary file.

Every failure of the bucket surfaces as an OSError (BucketError), as a local disk's would.
"""

import contextlib
import io
from collections.abc import Iterator
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.storage import default_storage
from storages.utils import clean_name

# Parts of a multipart upload (S3's minimum is 5 MiB, except for the last part).
PART_SIZE = 8 * 1024 * 1024
_MISSING = {"404", "NoSuchKey", "NotFound"}


class BucketError(OSError):
    """The object storage failed or could not be reached."""


@contextlib.contextmanager
def errors(key: str = ""):
    """Bucket failures as OSError; a missing object as FileNotFoundError."""
    try:
        yield
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") in _MISSING:
            raise FileNotFoundError(f"No such blob: {key}") from e
        raise BucketError(f"Object storage refused the request: {e}") from e
    except BotoCoreError as e:
        raise BucketError(f"Object storage failed: {e}") from e


def _client():
    return default_storage.connection.meta.client


def _object(key: str) -> dict:
    """Bucket and Key of a storage key (under the storage's prefix, if it has one)."""
    return {"Bucket": default_storage.bucket_name, "Key": _object_key(key)}


def _object_key(key: str) -> str:
    return default_storage._normalize_name(clean_name(key))


def put(key: str, data: bytes) -> None:
    with errors(key):
        _client().put_object(Body=data, **_object(key))


def move(source: str, dest: str) -> None:
    """Copy inside the bucket, then delete the source: a retry after a crash in between finds
    the source still there and copies again."""
    with errors(source):
        _client().copy_object(CopySource=_object(source), **_object(dest))
        _client().delete_object(**_object(source))


def reader(key: str) -> tuple[io.BufferedReader, int]:
    """(the object's bytes as they arrive, its size)."""
    with errors(key):
        answer = _client().get_object(**_object(key))
    return io.BufferedReader(_Body(answer["Body"]), 64 * 1024), answer["ContentLength"]


class _Body(io.RawIOBase):
    """A botocore streaming body as a raw stream (so a BufferedReader reads it exactly)."""

    def __init__(self, body):
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        with errors():
            data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()


def walk(prefix: str) -> Iterator[list[tuple[str, datetime]]]:
    """Every object under prefix/, a page at a time: (storage key, last modified)."""
    root = _object_key(prefix).rstrip("/") + "/"
    strip = len(_object_key(prefix)) - len(prefix.strip("/"))  # the storage's own prefix
    pages = _client().get_paginator("list_objects_v2")
    with errors(prefix):
        for page in pages.paginate(Bucket=default_storage.bucket_name, Prefix=root):
            yield [
                (entry["Key"][strip:], entry["LastModified"])
                for entry in page.get("Contents", ())
                if not entry["Key"].endswith("/")
            ]


class BucketWriter:
    """One object written as it arrives; it exists, complete, once commit() returns."""

    def __init__(self, key: str):
        self._key = key
        self._buffer = bytearray()
        self._upload_id = None
        self._parts: list[dict] = []

    def write(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) >= PART_SIZE:
            part = bytes(self._buffer[:PART_SIZE])
            del self._buffer[:PART_SIZE]
            self._send(part)

    def commit(self) -> None:
        with errors(self._key):
            if self._upload_id is None:  # it all fitted in one part: one PUT
                _client().put_object(Body=bytes(self._buffer), **_object(self._key))
            else:
                if self._buffer:
                    self._send(bytes(self._buffer))
                _client().complete_multipart_upload(
                    UploadId=self._upload_id,
                    MultipartUpload={"Parts": self._parts},
                    **_object(self._key),
                )
        self._buffer = bytearray()

    def abort(self) -> None:
        """Drop what was sent; nothing is left to sweep (a bucket lifecycle rule catches an
        upload whose process died before this)."""
        self._buffer = bytearray()
        if self._upload_id is not None:
            with contextlib.suppress(BotoCoreError, ClientError):
                _client().abort_multipart_upload(UploadId=self._upload_id, **_object(self._key))
            self._upload_id = None

    def _send(self, part: bytes) -> None:
        with errors(self._key):
            if self._upload_id is None:
                upload = _client().create_multipart_upload(**_object(self._key))
                self._upload_id = upload["UploadId"]
            number = len(self._parts) + 1
            answer = _client().upload_part(
                UploadId=self._upload_id, PartNumber=number, Body=part, **_object(self._key)
            )
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})
