"""What makes an installation ready: each check answers {"status": "ok"|"fail", "reason": ...}.

Reasons are for anyone who can reach the probe (it needs no sign-in), so they name the failing
step and the exception's kind only; the exception itself, which may carry host names, paths or
connection strings, goes to the server's log.
"""

import logging
import uuid

from django.conf import settings
from django.db import connection
from django.utils import timezone

from fundushub.operations.queue import Queue, heartbeat_seconds, queue
from fundushub.store import blobs

log = logging.getLogger(__name__)

PROBE_PREFIX = "health/"


def ok(reason: str = "", **figures) -> dict:
    return {"status": "ok", "reason": reason, **figures}


def fail(reason: str, **figures) -> dict:
    return {"status": "fail", "reason": reason, **figures}


def database() -> dict:
    try:
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as e:
        log.warning("Readiness: the database is unreachable", exc_info=True)
        return fail(f"database unreachable ({type(e).__name__})")
    return ok()


def storage() -> dict:
    """Write, read back and delete a small blob through the store's own door."""
    key = f"{PROBE_PREFIX}probe-{uuid.uuid4().hex}"
    data = f"fundushub readiness probe {key}".encode()
    step, written = "write", False
    try:
        blobs.write_bytes(key, data)
        written, step = True, "read"
        with blobs.open_blob(key) as f:
            if f.read() != data:
                return fail("storage read back different bytes")
        step = "delete"
        blobs.delete(key)
        written = False
    except Exception as e:
        log.warning("Readiness: storage %s failed", step, exc_info=True)
        return fail(f"storage {step} failed ({type(e).__name__})")
    finally:
        if written:
            _forget(key)
    return ok()


def _forget(key: str) -> None:
    try:
        blobs.delete(key)
    except Exception:
        log.warning("Readiness: could not remove the probe blob %s", key, exc_info=True)


def waiting_work(q: Queue) -> dict:
    figures = {
        "tasks_waiting": q.tasks_waiting,
        "items_queued": q.items_queued,
        "oldest_waiting_seconds": _rounded(q.oldest_seconds),
    }
    max_depth = settings.FUNDUSHUB_HEALTH_MAX_QUEUE_DEPTH
    if max_depth and q.waiting > max_depth:
        return fail(f"{q.waiting} waiting, more than the limit of {max_depth}", **figures)
    max_age = settings.FUNDUSHUB_HEALTH_MAX_QUEUE_AGE_SECONDS
    if max_age and (q.oldest_seconds or 0) > max_age:
        return fail(
            f"the oldest waiting work has waited {q.oldest_seconds:.0f} s, "
            f"more than the limit of {max_age} s",
            **figures,
        )
    return ok(**figures)


def worker(q: Queue, age: float | None) -> dict:
    """A worker must have beaten recently, but only while work waits for one."""
    figures = {"heartbeat_age_seconds": _rounded(age)}
    limit = settings.FUNDUSHUB_HEALTH_HEARTBEAT_MAX_AGE
    if not q.waiting:
        return ok("nothing waiting", **figures)
    if age is None:
        return fail(f"no worker has been seen, and {q.waiting} waiting", **figures)
    if age > limit:
        return fail(
            f"no worker heartbeat for {age:.0f} s (limit {limit} s), and {q.waiting} waiting",
            **figures,
        )
    return ok(**figures)


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)


def run_all() -> dict[str, dict]:
    """Every check by name; those that read rows fail without asking once the database has."""
    results = {"database": database(), "storage": storage()}
    if results["database"]["status"] != "ok":
        results["queue"] = results["worker"] = fail("needs the database")
        return results
    try:
        now = timezone.now()
        q, age = queue(now), heartbeat_seconds(now)
    except Exception as e:
        log.warning("Readiness: could not read the queue", exc_info=True)
        results["queue"] = results["worker"] = fail(f"queue unreadable ({type(e).__name__})")
        return results
    results["queue"] = waiting_work(q)
    results["worker"] = worker(q, age)
    return results
