"""The floor for an upload over HTTP: a bare WSGI app, under the same gunicorn as ours, that does
only what no upload server can skip and nothing else (no framework, no multipart parsing, no
authentication, no database): read the body in 1 MB pieces, MD5 + SHA-256 it on two threads while
writing it, fsync, rename the file to its hash and fsync the directory, answer 201 with the hash.

    uv run gunicorn --chdir bench --worker-class gthread raw_store:app    # bench/camera_api.py runs it
"""

import hashlib
import json
import os
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor

STORE = os.environ.get("RAW_STORE_DIR") or tempfile.mkdtemp(prefix="raw-store-")
PIECE = 1024 * 1024


# One thread per digest keeps each digest's pieces in order (also across concurrent uploads).
_MD5_THREAD, _SHA_THREAD = ThreadPoolExecutor(1), ThreadPoolExecutor(1)


def app(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"]
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    done = []
    tmp = os.path.join(STORE, uuid.uuid4().hex)
    with open(tmp, "wb") as f:
        while length > 0 and (piece := body.read(min(PIECE, length))):
            length -= len(piece)
            done = [_MD5_THREAD.submit(md5.update, piece), _SHA_THREAD.submit(sha.update, piece)]
            f.write(piece)
        f.flush()
        os.fsync(f.fileno())
    for future in done:  # each thread runs in order: its last piece done means all are
        future.result()
    os.replace(tmp, os.path.join(STORE, f"{sha.hexdigest()}-{md5.hexdigest()}"))
    fd = os.open(STORE, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    out = json.dumps({"sha256": sha.hexdigest()}).encode()
    start_response("201 Created", [("Content-Type", "application/json")])
    return [out]
