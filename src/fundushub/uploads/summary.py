"""A job as people and the status API see it: counts, state, and every file's outcome."""

from django.urls import reverse

from fundushub.checks.summary import summaries_for
from fundushub.uploads.models import (
    JOB_ERROR_MESSAGE,
    PENDING_STATES,
    ItemState,
    JobState,
    job_state,
)
from fundushub.uploads.outcome import Outcome


def job_summary(job, user=None) -> dict:
    """user: the reader, to whom a near-duplicate's twin is linked only if they may see it."""
    items = list(job.items.select_related("area").order_by("position"))
    checks = summaries_for([i.image_id for i in items if i.image_id], user)
    counts: dict[str, int] = {}
    for item in items:
        counts[item.state] = counts.get(item.state, 0) + 1
    state = job_state(counts)
    outcome = Outcome.of(counts, job.rejected)
    finished = [i.finished_at for i in items if i.finished_at]
    total = len(items)
    terminal = total - sum(counts.get(s, 0) for s in PENDING_STATES)
    return {
        "job_id": str(job.id),
        "token": str(job.id),
        "status": state,
        "error": JOB_ERROR_MESSAGE if state == JobState.ERROR else "",
        "uploader": job.user.get_username(),
        "created_at": job.created_at.isoformat(),
        "completed_at": max(finished).isoformat()
        if finished and state in (JobState.DONE, JobState.ERROR)
        else None,
        "hospital": job.hospital.name,
        "lab_unit": job.lab_unit.name,
        "camera": job.camera.name,
        "disease": job.disease.code,
        "area": job.area.name,
        "mydriatic": job.mydriatic,
        "total": total,
        "processed": terminal,
        "percent": round(100 * terminal / total) if total else 100,
        "counts": {s.value: counts.get(s.value, 0) for s in ItemState},
        "succeeded": counts.get(ItemState.COMPLETED, 0),
        "duplicates": counts.get(ItemState.DUPLICATE, 0),
        "failed": counts.get(ItemState.ERROR, 0),
        "rejected": job.rejected,
        # Every file chosen, the browser's left-outs included, each counted once (the pages'
        # figures); total/processed/counts above are the server's progress through its items.
        "outcome": {
            "selected": outcome.selected,
            "stored": outcome.stored,
            "already_stored": outcome.duplicates,
            "failed": outcome.failed,
            "pending": outcome.pending,
            "left_out": outcome.left_out,
            "in_store": outcome.in_store,
            "text": outcome.sentence(),
        },
        "finished": state in (JobState.DONE, JobState.ERROR),
        "items": [
            {
                "filename": i.filename,
                "state": i.state,
                "detail": i.detail,
                "image_id": str(i.image_id) if i.image_id else None,
                "size": i.size,
                "subject": i.subject_identifier,
                "eye": _eye(i, job),
                # What the checks at ingest found (they land seconds after storing; null: no image).
                "checks": _checks(checks.get(i.image_id)),
            }
            for i in items
        ],
    }


def _eye(item, job) -> str | None:
    """The name of the file's area (its own, else the job's); None when its eye is unknown."""
    if item.eye_unknown:
        return None
    return (item.area or job.area).name


def _checks(found) -> dict | None:
    """An image's checks as the status JSON and the pages show them (checks/_badges.html)."""
    if found is None:
        return None
    return {
        **{key: found[key] for key in ("state", "text", "flagged", "clear")},
        "checks": [
            {
                **{k: c[k] for k in ("name", "label", "verdict", "reason", "flagged", "tone")},
                "text": c["text"],
                "twin_id": str(c["twin_id"]) if c["twin_id"] else None,
                "twin_url": reverse("image-viewer", args=[c["twin_id"]]) if c["twin_id"] else None,
            }
            for c in found["checks"]
        ],
    }
