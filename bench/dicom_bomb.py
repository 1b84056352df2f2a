"""Peak memory of making a DICOM preview, for files whose headers lie and for an honest one.

Each file is previewed in a fresh process (address space capped at 4 GiB, so a preview that
allocated what a header claims would fail instead of taking the machine); the process reports its
peak resident memory (ru_maxrss) after importing everything and after the preview. MiB = 2^20 bytes.

    uv run python bench/dicom_bomb.py
"""

import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.camera import dicoms  # noqa: E402

CHILD = """
import io, resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
from fundushub.camera.dicom import NoPreview, preview_png
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
try:
    outcome = f"preview, {len(preview_png(io.BytesIO(data))):,} B PNG"
except NoPreview as e:
    outcome = f"refused: {e}"
took = time.perf_counter() - start
print(before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, f"{took:.3f}", outcome, sep="\\t")
"""

CASES = [
    ("65535x65535 16-bit mono (the issue's probe)", lambda: dicoms.bomb()),
    ("65535x65535 8-bit RGB", lambda: dicoms.build(65535, 65535, 3, pixel_data=b"\0" * 1024)),
    (
        "JPEG frame claiming 65535x65535",
        lambda: dicoms.jpeg_dicom(dicoms.jpeg(claim=(65535, 65535))),
    ),
    (
        "JPEG frame claiming 10000x10000",
        lambda: dicoms.jpeg_dicom(dicoms.jpeg(claim=(10000, 10000))),
    ),
    ("Rows=0", lambda: dicoms.build(rows=0, pixel_data=b"")),
    ("honest 4000x3000 16-bit mono", lambda: dicoms.build(3000, 4000, bits=16)),
]


def main() -> None:
    print(
        "| file | size | peak RSS after imports | peak RSS after preview | added | time | outcome |"
    )
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in CASES:
            path = Path(tmp) / "case.dcm"
            path.write_bytes(make())
            done = subprocess.run(
                [sys.executable, "-c", CHILD, str(path)],
                capture_output=True,
                text=True,
                timeout=300,
            )
            if done.returncode:
                print(f"| {name} | crashed: {done.stderr.strip().splitlines()[-1]} |")
                continue
            before, after, took, outcome = done.stdout.strip().split("\t")
            before, after = int(before) / 1024, int(after) / 1024
            print(
                f"| {name} | {path.stat().st_size:,} B | {before:.1f} MiB | {after:.1f} MiB "
                f"| {after - before:.1f} MiB | {float(took) * 1000:.0f} ms | {outcome} |"
            )


if __name__ == "__main__":
    main()
