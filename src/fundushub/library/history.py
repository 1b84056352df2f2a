"""An image's history, read from the audit: who did what and when, in words."""

from fundushub.audit.models import AuditEvent

LIMIT = 100
ACTIONS = {
    "image.stored": "Uploaded",
    "image.duplicate": "Uploaded again (duplicate, not stored twice)",
    "image.metadata_changed": "Details changed",
    "image.edited": "Image edited",
    "image.restored": "Original restored",
    "image.graded": "Graded",
    "image.original_downloaded": "Original downloaded",
    "image.deleted": "Deleted",
}
FIELD_NAMES = {"lab_unit": "lab unit", "grading_status": "grading status", "edited_sha256": "edit"}


def history_for(image, limit=LIMIT) -> list[dict]:
    events = (
        AuditEvent.objects.filter(object_type="image", object_id=str(image.pk))
        .select_related("user")
        .order_by("-at", "-id")[:limit]
    )
    return [
        {
            "at": e.at,
            "user": e.user.get_username() if e.user else "system",
            "action": ACTIONS.get(e.action, e.action),
            "summary": summary(e.action, e.data or {}),
        }
        for e in events
    ]


def summary(action: str, data: dict) -> str:
    if action == "image.graded":
        text = f"{data.get('grade')} ({data.get('label', '')}), revision {data.get('revision')}"
        if data.get("previous_grade"):
            text += f"; was {data['previous_grade']}"
        return text
    if action in ("image.stored", "image.duplicate") and data.get("filename"):
        return data["filename"]
    if action == "image.edited":
        return _operations(data.get("operations") or {})
    before, after = data.get("before"), data.get("after")
    if isinstance(before, dict) and isinstance(after, dict):
        return "; ".join(
            f"{FIELD_NAMES.get(k, k)}: {_value(before.get(k))} → {_value(after.get(k))}"
            for k in dict.fromkeys([*before, *after])
            if k != "operations"
        )
    return ""


def _value(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return str(value.get("name") or value.get("code") or value.get("id") or "—")
    text = str(value)
    return text[:12] + "…" if len(text) == 64 else text  # a digest: its start is enough


def _operations(ops: dict) -> str:
    done = []
    if ops.get("rotate"):
        done.append(f"rotated {ops['rotate']}°")
    if ops.get("flip_h"):
        done.append("flipped horizontally")
    if ops.get("flip_v"):
        done.append("flipped vertically")
    if ops.get("crop"):
        done.append("cropped")
    if ops.get("brightness", 1) != 1 or ops.get("contrast", 1) != 1:
        done.append("brightness/contrast adjusted")
    if ops.get("strokes"):
        done.append(f"{len(ops['strokes'])} mask stroke(s)")
    return ", ".join(done)
