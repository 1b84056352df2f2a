"""The checks at ingest in the ingest benchmark: when the queue of checks drained behind storing,
and what each check cost per image, read from the fresh server's own SQLite database (read-only;
the benchmark always runs its server on SQLite in its own data directory)."""

import datetime as dt
import sqlite3
import statistics
import time
from pathlib import Path

TASK_PATH = "fundushub.checks.tasks.check_image"
OPEN = ("READY", "RUNNING")


def _connect(data_dir: Path) -> sqlite3.Connection:
    uri = f"file:{data_dir / 'fundushub.sqlite3'}?mode=ro"
    return sqlite3.connect(uri, uri=True, timeout=30)


def _epoch(text: str | None) -> float | None:
    """A timestamp as Django stores it in SQLite (UTC, no offset) as seconds since the epoch."""
    if not text:
        return None
    value = dt.datetime.fromisoformat(text)
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()


def wait_drained(data_dir: Path, images: int, timeout: float, check_alive) -> dict:
    """Wait until every stored image's check task has finished; when the last one did."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        check_alive()
        with _connect(data_dir) as db:
            total, still = db.execute(
                "SELECT COUNT(*), SUM(status IN (?, ?)) FROM django_tasks_database_dbtaskresult"
                " WHERE task_path = ?",
                (*OPEN, TASK_PATH),
            ).fetchone()
        if total >= images and not still:
            break
        if not total and time.monotonic() - started > 15:
            raise SystemExit("no image was queued for checks: is any check installed?")
        if time.monotonic() > deadline:
            raise SystemExit(f"checks still queued after {timeout:.0f} s: {still} of {total}")
        time.sleep(0.5)
    with _connect(data_dir) as db:
        rows = db.execute(
            "SELECT status, started_at, finished_at FROM django_tasks_database_dbtaskresult"
            " WHERE task_path = ?",
            (TASK_PATH,),
        ).fetchall()
    spans = [_epoch(f) - _epoch(s) for _, s, f in rows if s and f]
    return {
        "tasks": len(rows),
        "failed": sum(1 for status, _, _ in rows if status != "SUCCESSFUL"),
        "last_finished": max(_epoch(f) for _, _, f in rows if f),
        "per_image_ms": [1000 * s for s in spans],
    }


def costs(data_dir: Path) -> list[dict]:
    """Per check, in the order they ran: images, milliseconds per image, verdicts."""
    with _connect(data_dir) as db:
        rows = db.execute(
            "SELECT name, milliseconds, verdict FROM checks_imagecheck ORDER BY id"
        ).fetchall()
    by_name: dict[str, dict] = {}
    for name, ms, verdict in rows:
        entry = by_name.setdefault(name, {"name": name, "ms": [], "verdicts": {}})
        entry["ms"].append(ms)
        entry["verdicts"][verdict] = entry["verdicts"].get(verdict, 0) + 1
    return list(by_name.values())


def summary(ms: list[float]) -> str:
    if not ms:
        return "–"
    ordered = sorted(ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return (
        f"mean {statistics.fmean(ms):.0f} ms, median {statistics.median(ms):.0f} ms, "
        f"p95 {p95:.0f} ms, max {ordered[-1]:.0f} ms"
    )
