"""One log line per state change of a unit of work (an upload item, a camera image), with the ids
that find it again. The line is written once the change commits, so the log never tells of a
state that a rolled-back transaction undid; in a request it carries the request's id."""

import logging
from uuid import UUID

from django.db import transaction

log = logging.getLogger("fundushub.states")


def state_changed(kind: str, state: str, **ids) -> None:
    """kind: "upload_item" or "camera_image"; ids: job_id/item_id, session_id/file_id, attempt, ..."""
    fields = {key: str(value) if isinstance(value, UUID) else value for key, value in ids.items()}
    named = " ".join(f"{key}={value}" for key, value in fields.items())
    extra = {"event": "state", "kind": kind, "state": str(state), **fields}
    transaction.on_commit(lambda: log.info("%s %s: %s", kind, named, state, extra=extra))
