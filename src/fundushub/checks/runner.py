"""Run the checks on one stored image: decode its pixels once, run each check, keep each result.

A check that raises ends as an "error" result with the reason: it never blocks the others, and
never the image (which is stored before any check runs).
"""

import logging
import time

import numpy as np
from django.utils import timezone
from PIL import Image as PILImage
from PIL import ImageOps

from fundushub.checks.models import ImageCheck, Verdict
from fundushub.checks.registry import CHECKS, Subject
from fundushub.store import blobs
from fundushub.store.models import Image

log = logging.getLogger(__name__)

# Checks look at a working copy this size: their cost per image is bounded whatever the camera.
WORKING_SIZE = 1024


def load_subject(image: Image) -> Subject:
    with blobs.open_blob(image.original_key) as f, PILImage.open(f) as im:
        full_width = im.size[0]
        im.draft("RGB", (WORKING_SIZE, WORKING_SIZE))  # JPEG: decode at reduced scale
        im = ImageOps.exif_transpose(im) if im.getexif() else im
        im = im.convert("RGB")
        im.thumbnail((WORKING_SIZE, WORKING_SIZE), PILImage.Resampling.BILINEAR)
        rgb = np.asarray(im)
    return Subject(image=image, rgb=rgb, scale=rgb.shape[1] / max(1, full_width))


def run_checks(image: Image, names=None) -> dict[str, ImageCheck]:
    """Run the named checks (all by default) and store their results; returns them by name."""
    subject = load_subject(image)
    results = {}
    for name in names or list(CHECKS):
        results[name] = _run_one(CHECKS[name], subject)
    return results


def _run_one(check, subject: Subject) -> ImageCheck:
    started = time.perf_counter()
    try:
        result = check.run(subject)
        fields = {
            "verdict": result.verdict,
            "reason": result.reason[:300],
            "flagged": result.flagged,
            "values": result.values,
            "twin_id": result.twin_id,
        }
    except Exception as e:  # one check's failure is its own result, not the image's
        log.exception("Check %s failed on image %s", check.name, subject.image.pk)
        reason = f"The {check.label} check failed: {e.__class__.__name__}"
        fields = {"verdict": Verdict.ERROR, "reason": reason, "flagged": False, "values": {}}
        fields["twin_id"] = None
    fields.update(
        version=check.version,
        milliseconds=int((time.perf_counter() - started) * 1000),
        ran_at=timezone.now(),
        reviewed_by=None,
        reviewed_at=None,
    )
    row, _ = ImageCheck.objects.update_or_create(
        image=subject.image, name=check.name, defaults=fields
    )
    return row
