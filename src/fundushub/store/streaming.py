"""Receive uploaded files straight into durable staging blobs, hashing as the bytes pass.

A staging blob is written through the storage (blobs.writer): a file under the media root, or an
object in the bucket, uploaded part by part as the request body arrives, so that with S3 any
worker on any machine can take it from there and no node needs a shared disk.

Nothing is held in memory beyond one chunk (one upload part, with S3) and the hashing backlog
(see digests.py): a file over the size limit stops being written the moment it crosses the limit,
and files beyond the per-upload cap are not written at all; both are still reported, so the job
can show every file the user sent.

A request that fails keeps nothing: the handler remembers every file it staged, and
discard_unkept() removes all but those handed to a job, whatever way the request ended (a refusal,
a parser error half-way through the body, an exception). A gate may refuse the request before the
first file is staged (the upload form's CSRF token, which the form sends before its files).
"""

import uuid

from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import QueryDict
from django.http.multipartparser import MultiPartParser

from fundushub.store import blobs
from fundushub.store.digests import Digests
from fundushub.store.sniff import HEAD_SIZE, sniff

MAX_FILENAME = 255


class StagedFile:
    """What request.FILES holds for one received file."""

    def __init__(self, name: str, size: int, staged_key: str = "", rejection: str = ""):
        self.name = name
        self.size = size
        self.staged_key = staged_key
        self.rejection = rejection
        self.md5 = ""
        self.sha256 = ""
        self.mime = ""
        self.head = b""  # the first bytes, for content checks beyond the MIME sniff
        self.kept = False  # handed on (to a job, or moved into place): not the request's to remove

    def discard(self) -> None:
        if self.staged_key:
            blobs.delete(self.staged_key)
            self.staged_key = ""

    def close(self) -> None:
        pass


def clean_filename(name: str) -> str:
    """Display name: Django already kept only the last path part and printable characters."""
    name = name.replace("\x00", "").strip()
    if len(name) <= MAX_FILENAME:
        return name
    stem, dot, ext = name.rpartition(".")
    ext = ext[:16] if dot else ""
    return (stem if dot else name)[: MAX_FILENAME - len(ext) - 1] + (f".{ext}" if ext else "")


class StagingUploadHandler(FileUploadHandler):
    # Django reads the body in pieces of this size: at 256 KB gunicorn's reader re-copied its
    # buffer for each piece; at 1 MB reading costs what the socket does (bench/RESULTS.md).
    chunk_size = 1024 * 1024

    def __init__(self, request, max_file_size_mb: int, max_files: int):
        super().__init__(request)
        self.max_file_size_mb = max_file_size_mb
        self.max_bytes = max_file_size_mb * 1024 * 1024
        self.max_files = max_files
        self.files_seen = 0
        self.staged: list[StagedFile] = []  # everything this request staged, for discard_unkept
        self.gate = None
        self.refusal = None

    def parse(self, gate=None):
        """Parse the request's multipart body through this handler: (fields, files).

        gate(fields received so far) runs once, before the first file would be staged; a response
        it returns refuses the request: parsing stops there and self.refusal holds the answer.
        """
        request = self.request
        parser = MultiPartParser(request.META, request, [self], request.encoding)
        if gate:
            # Django keeps the fields parsed so far on the parser; the form sends its token first.
            self.gate = lambda: gate(getattr(parser, "_post", None) or QueryDict())
        fields, files = parser.parse()
        if self.gate is not None:  # no file came: the gate decides on the whole form
            self.refusal, self.gate = self.gate(), None
        return fields, files

    def discard_unkept(self) -> None:
        """Remove what this request staged and did not hand on: the part being written too."""
        if getattr(self, "file", None) is not None:  # (no "file" yet: Django's parser checks)
            self._drop_file()
        for staged in self.staged:
            if not staged.kept:
                staged.discard()

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        if self.gate is not None:
            gate, self.gate = self.gate, None
            self.refusal = gate()
            if self.refusal is not None:
                raise StopUpload(connection_reset=True)  # read no further
        self.files_seen += 1
        self.received = 0
        self.head = b""
        self.digests = Digests()
        self.rejection = ""
        self.file = None
        if self.files_seen > self.max_files:
            self.rejection = f"Too many files (max {self.max_files} per upload)"
            return
        self.staged_key = f"staging/{uuid.uuid4().hex}"
        self.file = blobs.writer(self.staged_key)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.file is None:
            return None
        if self.received > self.max_bytes:
            self.rejection = f"File too large (max {self.max_file_size_mb}MB)"
            self._drop_file()
            return None
        if len(self.head) < HEAD_SIZE:
            self.head += raw_data[: HEAD_SIZE - len(self.head)]
        self.digests.update(raw_data)  # on pool threads, while this one writes and reads on
        self.file.write(raw_data)
        return None

    def file_complete(self, file_size):
        staged = StagedFile(clean_filename(self.file_name), self.received, rejection=self.rejection)
        self.staged.append(staged)
        if self.file is None:
            return staged
        if self.received == 0:
            self._drop_file()
            staged.rejection = "No selected file"
            return staged
        staged.mime, staged.head = sniff(self.head), self.head
        self.file.commit()  # bytes durable (fsynced, or the upload completed) before any row
        self.file = None
        staged.md5, staged.sha256 = self.digests.hexdigests()  # hashing overlapped the commit
        staged.staged_key = self.staged_key
        return staged

    def upload_interrupted(self):
        if getattr(self, "file", None) is not None:
            self._drop_file()

    def _drop_file(self):
        self.file.abort()
        self.file = None
