"""Burned-in text found at ingest (checks/burned_text.py), as the image editor meets it: masks
pre-placed over the text boxes for a person to confirm, and the review that a saved edit or a
"Not patient data" answer records on the check."""

import math

from django.db import transaction
from django.utils import timezone

from fundushub.audit.models import record
from fundushub.checks.burned_text import NAME
from fundushub.checks.models import ImageCheck
from fundushub.library import editing


def unreviewed(image) -> ImageCheck | None:
    """The image's burned-in text flag that no one has answered yet, if any."""
    return ImageCheck.objects.filter(
        image=image, name=NAME, flagged=True, reviewed_at__isnull=True
    ).first()


def strokes_for(boxes, width: int, height: int, room: int = editing.MAX_STROKES) -> list[dict]:
    """Brush strokes (the editor's document) that black out each [x, y, w, h] box: one straight
    stroke as thick as the box runs along its middle from edge to edge (its round ends reach a
    little beyond), several side by side for a box taller than the largest brush. At most
    `room` strokes; points stay inside the picture, as the editor requires."""
    strokes = []
    for box in boxes:
        x, y, w, h = (int(v) for v in box)
        x0, x1 = max(0, min(x, width)), max(0, min(x + w, width))
        bands = max(1, math.ceil(h / editing.MAX_SIZE))
        size = max(editing.MIN_SIZE, min(editing.MAX_SIZE, math.ceil(h / bands)))
        for band in range(bands):
            middle = max(0.0, min(float(height), y + size * (band + 0.5)))
            strokes.append({"tool": "brush", "size": size, "points": [[x0, middle], [x1, middle]]})
    return strokes[: max(0, room)]


def masks_for(image, width: int, height: int) -> dict | None:
    """What the editor pre-places for an unanswered flag ({"boxes", "strokes"}), or None."""
    check = unreviewed(image)
    if check is None:
        return None
    boxes = [b for b in check.values.get("boxes", []) if isinstance(b, list) and len(b) == 4]
    existing = len((image.edit_operations or {}).get("strokes", []))
    strokes = strokes_for(boxes, width, height, room=editing.MAX_STROKES - existing)
    return {"boxes": boxes, "strokes": strokes}


def mark_reviewed(image, user, how: str, request=None) -> bool:
    """Record that `user` answered the image's burned-in text flag (how: "masked" when an edit was
    saved, "dismissed" for not patient data); False when there was nothing to answer."""
    with transaction.atomic():
        answered = ImageCheck.objects.filter(
            image=image, name=NAME, flagged=True, reviewed_at__isnull=True
        ).update(reviewed_by=user, reviewed_at=timezone.now())
        if answered:
            record("image.text_reviewed", request=request, user=user, obj=image, answer=how)
    return bool(answered)
