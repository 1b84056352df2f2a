"""Retake the README's grading screenshots (docs/screenshots/workflow-*.png) from the demo.

Starts `fundushub demo` on a free port with a data folder of its own (its synthetic fundus
images, demo accounts and examinations in every stage), signs in as the demo's grader, senior
grader, data manager and uploader in Debian's chromium (Playwright for Python, headless, at
1366×768), takes the shots, and stops the demo (its whole process group) and removes the folder.
Nothing is graded or uploaded: the grading page is left unsaved and the upload unsent.

    uv run python docs/take_screenshots.py                 # all of them
    uv run python docs/take_screenshots.py --only grading letter
    uv run python docs/take_screenshots.py --url http://127.0.0.1:8000 --password PW  # a running demo

Each shot is taken from the demo's own data, so the subjects, dates and figures change from run to
run; look at every picture before committing it.
"""

import argparse
import csv
import io
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("FUNDUSHUB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
VIEWPORT = {"width": 1366, "height": 768}
PASSWORD = "screenshots-demo"
SHOTS = ["upload", "worklist", "grading", "arbitration", "examination", "quality", "letter"]


# --- the demo ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Demo:
    """`fundushub demo` in a process group of its own, so stopping it stops its worker too."""

    def __init__(self, port: int, data_dir: Path, seed_images: int):
        self.url = f"http://127.0.0.1:{port}"
        self.data_dir = data_dir
        self.log = open(data_dir / "demo.log", "wb")  # noqa: SIM115 (closed in stop)
        command = [
            sys.executable,
            "-m",
            "fundushub",
            "demo",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--demo-password",
            PASSWORD,
            "--no-camera",
            "--seed-images",
            str(seed_images),
        ]
        self.proc = subprocess.Popen(
            command, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait(self, timeout: float = 600) -> None:
        """Until the site answers and the worker is ready (seeding 150 images takes a while)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(
                    f"The demo stopped (exit code {self.proc.returncode}):\n{self.tail()}"
                )
            if b"Worker ready." in (self.data_dir / "demo.log").read_bytes() and self._live():
                return
            time.sleep(1)
        raise SystemExit(f"The demo did not start within {timeout:.0f} s:\n{self.tail()}")

    def _live(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health/live", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def tail(self) -> str:
        return (self.data_dir / "demo.log").read_bytes().decode(errors="replace")[-3000:]

    def stop(self) -> None:
        """SIGTERM to the demo itself (it stops its worker, as on Ctrl+C); then anything left in
        its process group is killed. Not SIGINT: a shell's background job may ignore it, and not
        the whole group at once, or the demo restarts the worker it sees stop."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.log.close()


# --- pages ---------------------------------------------------------------------------------


class Session:
    """One signed-in browser context per demo account."""

    def __init__(self, browser, url: str, password: str):
        self.browser, self.url, self.password = browser, url, password
        self.contexts = {}
        self.errors = []

    def page(self, username: str):
        if username not in self.contexts:
            context = self.browser.new_context(base_url=self.url, viewport=VIEWPORT)
            page = context.new_page()
            page.set_default_timeout(20_000)
            page.on("pageerror", lambda e: self.errors.append(f"{username} {page.url}: {e}"))
            page.goto("/accounts/login/")
            page.get_by_label("Username").fill(username)
            page.get_by_label("Password").fill(self.password)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_load_state()
            expect(page.get_by_role("button", name="Sign out")).to_be_visible()
            self.contexts[username] = (context, page)
        return self.contexts[username][1]

    def close(self):
        for context, _ in self.contexts.values():
            context.close()


def settle(page) -> None:
    """Images loaded and fonts ready (Playwright hides the caret itself)."""
    page.wait_for_load_state("networkidle")
    page.evaluate("document.fonts.ready")
    page.wait_for_function(
        "Array.from(document.images).every(i => i.complete && (i.naturalWidth > 0 || i.loading === 'lazy'))"
    )


def save(page, out: Path, name: str, full_page=False, element=None) -> Path:
    settle(page)
    path = out / f"workflow-{name}.png"
    if element is not None:
        element.screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=full_page)
    print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return path


def decided_examinations(page) -> list[dict]:
    """The outcomes CSV of this month (the demo decides its examinations as it starts)."""
    response = page.request.get("/examinations/outcomes.csv")
    assert response.ok, response.status
    return list(csv.DictReader(io.StringIO(response.text())))


def pick_decided(page) -> dict:
    """A decided examination worth showing, from the outcomes CSV and the JSON status: diabetic
    eye screening, both eyes graded, preferably referred after arbitration (three gradings), else
    referred, else any. Returns its JSON status."""
    rows = [r for r in decided_examinations(page) if r["right_eye_grade"] and r["left_eye_grade"]]
    rows.sort(key=lambda r: (r["programme"] != "Diabetic eye screening", r["referable"] != "yes"))
    best = []
    for row in rows[:40]:
        status = page.request.get(f"/api/examinations/{row['examination_id']}").json()
        eyes = {i["eye"] for i in status["images"]}
        roles = {g["role"] for g in status["gradings"]}
        if {"right", "left"} <= eyes:
            if "arbitration" in roles and status["outcome"]["referable"]:
                return status
            best.append((not status["outcome"]["referable"], len(best), status))
    if not best:
        raise SystemExit("The demo has no decided examination with both eyes graded.")
    return min(best)[2]


def decided(s, state: dict) -> dict:
    if "decided" not in state:
        state["decided"] = pick_decided(s.page("manager"))
    return state["decided"]


# --- the shots -----------------------------------------------------------------------------


def start_at(page, stage: str, programme: str) -> bool:
    """Start grading from the worklist filtered to a stage and, where one waits there, a
    programme; False when nothing waits at that stage."""
    page.goto(f"/grading/?stage={stage}")
    page.get_by_label("Programme").select_option(label=programme)
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_load_state()
    if page.locator("#empty-state").count():
        page.goto(f"/grading/?stage={stage}")
        if page.locator("#empty-state").count():
            return False
    page.get_by_role("button", name="Start grading").click()
    page.wait_for_url("**/grade*")
    return True


def shoot_worklist(s: Session, out: Path, _state: dict):
    page = s.page("grader")
    page.goto("/grading/")
    expect(page.locator("#worklist")).to_be_visible()
    save(page, out, "worklist")


def shoot_grading(s: Session, out: Path, _state: dict):
    """A first grading by keyboard: the right eye R2 M0 P0, the left R1 M0 P0 (keys 2 0 0 1 0 0);
    the preview shows the outcome and the rule that fired. Not saved: given back."""
    page = s.page("grader")
    if not start_at(page, "first", "Diabetic eye screening"):
        raise SystemExit("Nothing awaits a first grading in the demo.")
    expect(page.locator("fieldset.grade-field")).to_have_count(6)  # R, M, P per eye
    for key in "200100":
        page.keyboard.press(key)
    expect(page.locator("#outcome-preview")).to_contain_text("rule:")
    save(page, out, "grading")
    page.get_by_role("button", name="Give back").click()  # leave the claim as it was
    page.wait_for_url("**/grading/*")


def shoot_arbitration(s: Session, out: Path, _state: dict):
    """A senior grader's arbitration: both gradings compared, the first grader's values chosen
    and a reason typed, so the preview shows the outcome. Not decided."""
    page = s.page("senior")
    if not start_at(page, "arbitration", "Diabetic eye screening"):
        raise SystemExit("Nothing awaits arbitration in the demo.")
    table = page.locator("#compare-table")
    expect(table).to_be_visible()
    groups = page.locator("fieldset.grade-field")
    fields = []
    for i in range(groups.count()):
        g = groups.nth(i)
        fields.append((g.get_attribute("data-eye"), g.get_attribute("data-field")))
    codes = [f for eye, f in fields if eye == "right"]
    rows = table.locator("tbody tr:not(.compare-outcome)")
    for n, code in enumerate(codes):
        cells = rows.nth(n).locator("td")
        for eye, column in (("right", 0), ("left", 1)):
            value = cells.nth(column).inner_text().split()[0]
            page.locator(f"#{eye}-{code}-{value}").check()
    page.get_by_label("Reason for the decision").fill(
        "Images reviewed at full quality: the first grader's reading stands."
    )
    expect(page.locator("#outcome-preview")).to_contain_text("rule:")
    page.evaluate("window.scrollTo(0, 0)")
    save(page, out, "arbitration")
    page.get_by_role("button", name="Give back").click()
    page.wait_for_url("**/grading/*")


def shoot_examination(s: Session, out: Path, state: dict):
    exam = decided(s, state)
    page = s.page("manager")
    page.goto(exam["urls"]["page"])
    expect(page.locator(".eye-pair img")).to_have_count(2)
    save(page, out, "examination")
    gradings = page.locator("section:has(#gradings-heading)")
    gradings.scroll_into_view_if_needed()
    save(page, out, "examination-gradings", element=gradings)


def shoot_quality(s: Session, out: Path, _state: dict):
    """The period's figures down to the graders' table (the demo grades everything as it starts,
    so its turnaround is minutes)."""
    page = s.page("manager")
    page.goto("/grading/quality")
    expect(page.get_by_role("heading", name="Grading quality")).to_be_visible()
    graders = page.locator("section:has(#graders-heading)")
    expect(graders).to_be_visible()
    box = graders.bounding_box()
    height = page.evaluate("window.scrollY") + box["y"] + box["height"] + 16
    settle(page)
    path = out / "workflow-quality.png"
    page.screenshot(
        path=str(path), full_page=True, clip={"x": 0, "y": 0, "width": 1366, "height": height}
    )
    print(f"  {path}")


def shoot_letter(s: Session, out: Path, state: dict):
    exam = decided(s, state)
    page = s.page("manager")
    page.goto(exam["urls"]["letter"])
    expect(page.locator("article.letter")).to_be_visible()
    save(page, out, "letter", full_page=True)


def retina(seed: int, side: int, size=(640, 480)) -> bytes:
    """A small fundus-like JPEG (disc on the right for a right eye), unique per seed."""
    rng = random.Random(seed)
    w, h = size
    r = min(w, h) * 0.48
    cx, cy = w / 2, h / 2
    im = Image.new("RGB", size, (0, 0, 0))
    d = ImageDraw.Draw(im)
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(rng.randint(170, 200), 72, 28))
    disc = (cx + side * r * 0.45, cy)
    for _ in range(8):
        angle = rng.uniform(0, 2 * math.pi)
        x, y = disc
        for _ in range(5):
            angle += rng.uniform(-0.5, 0.5)
            nx, ny = x + math.cos(angle) * r * 0.17, y + math.sin(angle) * r * 0.17
            d.line((x, y, nx, ny), fill=(120, 25, 20), width=3)
            x, y = nx, ny
    d.ellipse((disc[0] - 28, disc[1] - 28, disc[0] + 28, disc[1] + 28), fill=(245, 205, 130))
    buf = io.BytesIO()
    im.filter(ImageFilter.GaussianBlur(1)).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def shoot_upload(s: Session, out: Path, _state: dict):
    """The file list before sending: subjects read from the file names, eyes from the name's own
    word (R, L, OD, OS), one name with no eye (it takes the area chosen above). Not sent."""
    page = s.page("uploader")
    page.goto("/direct/upload")
    page.locator("#hospital-pills .pill").first.click()
    for field in ("Lab Unit", "Camera"):
        page.get_by_label(field).select_option(index=1)
    page.get_by_label("Disease").select_option(label="DR")
    page.get_by_label("Area").select_option(label="Right eye")
    page.locator("#subject-sources .pill", has_text="From each file name").click()
    seed = random.randrange(1 << 30)
    names = [
        ("105-10-0989-3_R.jpg", 1),
        ("105-10-0989-3_L.jpg", -1),
        ("105-10-1002-7 OD.jpg", 1),
        ("105-10-1002-7 OS.jpg", -1),
        ("105-10-1017-2.jpg", 1),
    ]
    page.locator("#files").set_input_files(
        [
            {"name": n, "mimeType": "image/jpeg", "buffer": retina(seed + i, side)}
            for i, (n, side) in enumerate(names)
        ]
    )
    expect(page.locator("#file-list li")).to_have_count(len(names))
    page.wait_for_timeout(1500)  # the duplicate check's answer
    save(page, out, "upload", full_page=True)


SHOOT = {
    "upload": shoot_upload,
    "worklist": shoot_worklist,
    "grading": shoot_grading,
    "arbitration": shoot_arbitration,
    "examination": shoot_examination,
    "quality": shoot_quality,
    "letter": shoot_letter,
}


def take(url: str, password: str, out: Path, only: list[str], chromium: str) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    state: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        s = Session(browser, url, password)
        try:
            for name in only:
                print(f"{name}:")
                SHOOT[name](s, out, state)
        finally:
            s.close()
            browser.close()
    return s.errors


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Retake docs/screenshots/workflow-*.png (the README's grading section) from "
        "a fresh `fundushub demo`: started on a free port with a temporary data folder, stopped "
        "and removed afterwards.",
        epilog=f"Shots: {', '.join(SHOTS)}.",
    )
    parser.add_argument(
        "--only", nargs="+", choices=SHOTS, default=SHOTS, metavar="SHOT", help="these shots only"
    )
    parser.add_argument("--out", type=Path, default=OUT, help="folder (default docs/screenshots)")
    parser.add_argument("--port", type=int, help="the demo's port (default: a free one)")
    parser.add_argument(
        "--seed-images", type=int, default=150, help="the demo's images (default %(default)s)"
    )
    parser.add_argument(
        "--keep-data", action="store_true", help="keep the demo's data folder (printed at the end)"
    )
    parser.add_argument(
        "--url", help="use a demo already running here instead (nothing is started or stopped)"
    )
    parser.add_argument(
        "--password", default=PASSWORD, help="the demo accounts' password (with --url)"
    )
    parser.add_argument(
        "--chromium",
        default=CHROMIUM,
        help="the browser (default $FUNDUSHUB_CHROMIUM or %(default)s)",
    )
    args = parser.parse_args(argv)
    if not Path(args.chromium).is_file():
        parser.error(f"{args.chromium} not found: apt-get install chromium (or --chromium PATH)")

    demo = data_dir = None
    url = args.url
    try:
        if url is None:
            data_dir = Path(tempfile.mkdtemp(prefix="fundushub-screenshots-"))
            demo = Demo(args.port or free_port(), data_dir, args.seed_images)
            print(f"Starting the demo on {demo.url} (data in {data_dir})...", flush=True)
            demo.wait()
            url = demo.url
        errors = take(url.rstrip("/"), args.password, args.out, args.only, args.chromium)
    finally:
        if demo is not None:
            demo.stop()
            print("Demo stopped.")
        if data_dir is not None and not args.keep_data:
            shutil.rmtree(data_dir, ignore_errors=True)
        elif data_dir is not None:
            print(f"Demo data kept in {data_dir}")
    if errors:
        print("JavaScript errors on the pages:\n  " + "\n  ".join(errors))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
