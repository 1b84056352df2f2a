"""What the server's checks found on the pictures of an examination, as sentences for the log.

Our server checks each picture seconds after storing it (blur, exposure, which eye, copies,
names burned into the picture) and says so in the status answer's optional `checks` object, by
file name. Once an examination is complete the watchdog asks again for a short while (never
longer than `checks_wait` seconds) until no picture is pending, then logs one sentence per
flagged picture, e.g. "left image of 105-10-0989-3 looks blurred — recapture while the patient
is here". Other servers send no `checks`: nothing is waited for or said. Nothing here ever fails
an examination: an odd or missing answer is simply not reported.
"""

import logging
import threading
import time

from .client import CameraApi, Status
from .errors import ApiError

log = logging.getLogger(__name__)

POLL_SECONDS = 2.0
GENERIC_ADVICE = "please look at it"


def pictures(checks) -> dict[str, dict]:
    """The answer's pictures whose entry is an object (anything else is ignored)."""
    if not isinstance(checks, dict):
        return {}
    return {str(name): entry for name, entry in checks.items() if isinstance(entry, dict)}


def pending(checks) -> list[str]:
    return sorted(
        name for name, entry in pictures(checks).items() if entry.get("state") == "pending"
    )


def await_checks(
    api: CameraApi,
    subject: str,
    session_id: str,
    status: Status,
    wait: float,
    stop_event: threading.Event,
) -> dict:
    """The checks once none is pending, or as they stand after `wait` seconds (or on any
    trouble asking): a bounded wait, never an error."""
    checks, poll = status.checks, POLL_SECONDS
    deadline = time.monotonic() + wait
    while pending(checks):
        left = deadline - time.monotonic()
        if left <= 0 or stop_event.wait(min(poll, left)):
            break
        try:
            answer = api.status(subject, session_id, retries=1, timeout=max(1.0, left))
        except ApiError as exc:
            log.debug("subject %s: asking for the image checks again failed: %s", subject, exc)
            break
        if answer.describes_another_than(session_id):
            break
        checks = answer.checks
    return checks


def sentences(subject: str, checks) -> list[str]:
    """One sentence per flagged result of each picture."""
    said = []
    for name, entry in sorted(pictures(checks).items()):
        eye = _eye(entry.get("file_type"))
        results = entry.get("results")
        for check, result in sorted((results if isinstance(results, dict) else {}).items()):
            if not (isinstance(result, dict) and result.get("flagged") is True):
                continue
            reason = _text(result.get("reason")) or f"was flagged by the {check} check"
            advice = _text(result.get("advice")) or GENERIC_ADVICE
            said.append(f"{eye} of {subject} {reason} — {advice} ({name})")
    return said


def report(subject: str, checks, wait: float) -> None:
    """Log what the checks found; say so when some were still running."""
    for sentence in sentences(subject, checks):
        log.warning("%s", sentence)
    still = pending(checks)
    if still:
        log.info(
            "subject %s: the server was still checking %s after %g s; archiving anyway (the"
            " results will be on the server)",
            subject,
            ", ".join(still),
            wait,
        )


def _eye(file_type) -> str:
    text = str(file_type or "")
    if text.startswith("left"):
        return "left image"
    if text.startswith("right"):
        return "right image"
    return "image"


def _text(value) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""
