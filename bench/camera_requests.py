"""Camera API requests one at a time, in-process: the CPU time each kind of request costs Django.

No socket, no gunicorn, no worker: django.test.Client against a fresh data directory. For each
of N subjects: ping, resolve (a new session), a report upload, resolve again (the session is
reused), status. It prints the median request-thread CPU time (what the server's own code costs,
which other load on the machine barely moves) and the median wall time (which also counts the
fsyncs) per kind. bench/camera_api.py measures uploads over HTTP; this measures the small requests.

    uv run python bench/camera_requests.py          # 150 subjects
    uv run python bench/camera_requests.py -n 50
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from camera_api import REPORT, register  # noqa: E402
from ingest import Server, free_port  # noqa: E402

KINDS = ("ping", "resolve (new session)", "report upload", "resolve (reused)", "status")


def measure(token: str, subjects: list[str]) -> tuple[dict, dict]:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test.client import BOUNDARY, Client, encode_multipart

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Token {token}")
    api = "/api/retinopathy"
    for _ in range(50):  # imports, URL resolver and connection warmed up
        client.get(f"{api}/ping/")
    cpu = {kind: [] for kind in KINDS}
    wall = {kind: [] for kind in KINDS}

    def timed(kind, send, *args, **kw):
        c, w = time.thread_time(), time.perf_counter()
        r = send(*args, **kw)
        cpu[kind].append(time.thread_time() - c)
        wall[kind].append(time.perf_counter() - w)
        if r.status_code not in (200, 201):
            raise SystemExit(f"{kind}: {r.status_code} {r.content[:300]}")

    # a body encoded before the clock starts (not the test client's MULTIPART_CONTENT object,
    # which would make it encode the body itself)
    multipart = f"multipart/form-data; boundary={BOUNDARY}"
    resolve = partial(client.post, f"{api}/resolve/", content_type="application/json")
    for s in subjects:
        timed("ping", client.get, f"{api}/ping/")
        timed("resolve (new session)", resolve, data={"subject_identifier": s})
        body = encode_multipart(BOUNDARY, {"file": SimpleUploadedFile(f"{s}.html", REPORT)})
        timed("report upload", client.post, f"{api}/{s}/report/", body, multipart)
        timed("resolve (reused)", resolve, data={"subject_identifier": s})
        timed("status", client.get, f"{api}/{s}/status/")
    return cpu, wall


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--count", type=int, default=150, help="subjects (default 150)")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="fundushub-camera-requests-"))
    try:
        server = Server(tmp / "data", free_port(), 0)  # for its data directory; never started
        server.manage("migrate", "--verbosity", "0")
        server.manage("load_reference_data", "--demo")
        token, subjects = register(server, args.count)
        os.environ.update(server.env)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fundushub.settings")
        import django

        django.setup()
        cpu, wall = measure(token, subjects)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n| request (median) | CPU | wall |\n|---|---|---|")
    for kind in KINDS:
        print(
            f"| {kind} | {1000 * statistics.median(cpu[kind]):.2f} ms "
            f"| {1000 * statistics.median(wall[kind]):.2f} ms |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
