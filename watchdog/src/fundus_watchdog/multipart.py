"""A multipart/form-data body streamed from disk.

`requests` builds `files=` bodies in memory; a DICOM can be hundreds of megabytes, so this body is
a file-like object with a known length that requests sends in blocks, straight from the file.
"""

import io
import os
import uuid
from pathlib import Path
from urllib.parse import quote

from .paths import long_path


class MultipartFile:
    """Has read(), __iter__ and __len__ but no tell(): requests then sends a Content-Length."""

    def __init__(self, fields: dict[str, str], file_field: str, path: Path, content_type: str):
        self.boundary = uuid.uuid4().hex
        name = Path(path).name
        ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
        disposition = f'form-data; name="{file_field}"; filename="{ascii_name}"'
        if ascii_name != name:
            disposition += f"; filename*=UTF-8''{quote(name)}"
        head = "".join(
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
            for key, value in fields.items()
        )
        head += f"--{self.boundary}\r\nContent-Disposition: {disposition}\r\nContent-Type: {content_type}\r\n\r\n"
        tail = f"\r\n--{self.boundary}--\r\n".encode()
        self._file = open(long_path(path), "rb")  # closed by close()
        size = os.fstat(self._file.fileno()).st_size
        self._parts = [io.BytesIO(head.encode()), self._file, io.BytesIO(tail)]
        self.length = len(head.encode()) + size + len(tail)

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return self.length

    def __iter__(self):
        while block := self.read(64 * 1024):
            yield block

    def read(self, size: int = -1) -> bytes:
        chunks = []
        while self._parts and (size < 0 or size > 0):
            chunk = self._parts[0].read(size if size > 0 else -1)
            if not chunk:
                self._parts.pop(0)
                continue
            chunks.append(chunk)
            if size > 0:
                size -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
