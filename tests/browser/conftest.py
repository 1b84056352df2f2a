"""Browser tests: Playwright for Python driving Debian's chromium against pytest-django's live
server, with a real worker subprocess doing the background processing.

Playwright runs per test (not per session): its sync API keeps an event loop running in this
thread, during which Django refuses ORM calls (unless told otherwise) and keeps a separate set of
database connections, so it must be stopped before the database is flushed and before any
non-browser test runs.
"""

import base64
import os
import subprocess
import threading
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import sync_playwright

from tests.conftest import OUTPUT_DIR, start_worker

CHROMIUM = os.environ.get("FUNDUSHUB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = OUTPUT_DIR / "screenshots"
VIEWPORT = {"width": 1366, "height": 768}


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch):
    # Test code uses the ORM while Playwright's loop runs in this thread; nothing here is async.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def world(transactional_db, world):
    """The shared test world, committed for real so the live server and the worker see it."""
    return world


def _ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(config, items):
    """Without Debian's chromium the browser tests are skipped locally, with one reason; in CI
    (CI=true) they are required, and the browser fixture fails them instead."""
    if Path(CHROMIUM).is_file() or _ci():
        return
    skip = pytest.mark.skip(
        reason=f"{CHROMIUM} not found: browser tests need Debian's chromium (apt-get install "
        "chromium); CI=true makes them required"
    )
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(skip)


@pytest.fixture
def browser(live_server):
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"{CHROMIUM} not found: browser tests need Debian's chromium "
            "(apt-get install chromium); never `playwright install`.",
            pytrace=False,
        )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            # While Playwright's loop runs, Django keeps this thread's connections in a separate
            # (async) slot; close them now, or they outlive the test and PostgreSQL refuses to
            # drop the test database.
            connections.close_all()
            browser.close()


# Every page reports what the Content-Security-Policy refused (inline script, style attribute,
# another origin…), so a browser test fails on it as on a JavaScript error.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline")
    + " at " + e.sourceFile + ":" + e.lineNumber);
});
"""


def is_csp_violation(text: str) -> bool:
    return text.startswith("CSP violation:") or "Content Security Policy" in text


class Pages:
    """Opens pages on the live server and fails the test on any uncaught JavaScript error or
    Content-Security-Policy violation."""

    def __init__(self, browser, base_url):
        self.browser = browser
        self.base_url = base_url
        self.contexts = []
        self.js_errors = []
        self.csp_violations = []

    def new(self, javascript=True, viewport=VIEWPORT, context=None):
        if context is None:
            context = self.browser.new_context(
                base_url=self.base_url, viewport=viewport, java_script_enabled=javascript
            )
            self.contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("pageerror", lambda e: self.js_errors.append(f"{page.url}: {e}"))
        page.add_init_script(CSP_LISTENER)
        page.on("console", lambda m: self._console(page, m))
        return page

    def _console(self, page, message):
        if is_csp_violation(message.text):
            self.csp_violations.append(f"{page.url}: {message.text}")

    def close(self):
        for context in self.contexts:
            context.close()


@pytest.fixture
def pages(browser, live_server):
    pages = Pages(browser, live_server.url)
    yield pages
    pages.close()
    assert not pages.js_errors, "JavaScript errors:\n" + "\n".join(pages.js_errors)
    assert not pages.csp_violations, "CSP violations:\n" + "\n".join(pages.csp_violations)


@pytest.fixture
def page(pages):
    return pages.new()


class Workers:
    """Starts real worker processes (`python -m fundushub worker`) and always stops them."""

    def __init__(self, media_root):
        self.media_root = media_root
        self.procs = []
        self.output = []

    def start(self, **extra_env) -> subprocess.Popen:
        proc = start_worker(self.media_root, **extra_env)
        self.procs.append(proc)
        # Drain its output so a chatty worker never blocks on a full pipe.
        threading.Thread(target=self._drain, args=(proc,), daemon=True).start()
        return proc

    def _drain(self, proc):
        for line in proc.stdout:
            self.output.append(line.decode(errors="replace").rstrip())

    def stop_all(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def workers(world, isolated_storage):
    """Depends on `world`, so the workers stop before the database is flushed."""
    workers = Workers(isolated_storage)
    yield workers
    workers.stop_all()
    if workers.output:
        print("worker output:\n" + "\n".join(workers.output))
    assert all(p.poll() is not None for p in workers.procs), "a worker process outlived its test"


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page, username="alice", password="pw", shot: str | None = None):
    page.goto("/direct/upload")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    if shot:
        screenshot(page, shot)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/direct/upload")


def drop_files(page, files, target="#dropzone"):
    """Drop files on an element the way a desktop drag would: dragenter, dragover, drop."""
    payload = [
        {"name": name, "type": mime, "b64": base64.b64encode(data).decode()}
        for name, data, mime in files
    ]
    transfer = page.evaluate_handle(
        """files => {
            const dt = new DataTransfer();
            for (const f of files) {
                const bytes = Uint8Array.from(atob(f.b64), c => c.charCodeAt(0));
                dt.items.add(new File([bytes], f.name, {type: f.type}));
            }
            return dt;
        }""",
        payload,
    )
    for event in ("dragenter", "dragover", "drop"):
        page.dispatch_event(target, event, {"dataTransfer": transfer})
