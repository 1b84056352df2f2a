"""Run the checks on one stored image: decode its pixels once, run each check, keep each result.

A check that raises ends as an "error" result with the reason: it never blocks the others, and
never the image (which is stored before any check runs).
"""

import logging
import time

import numpy as np
from django.conf import settings
from django.utils import timezone
from PIL import Image as PILImage
from PIL import ImageOps

from fundushub.checks.models import ImageCheck, Verdict
from fundushub.checks.registry import CHECKS, Subject
from fundushub.lib.tasks import failure_reason
from fundushub.store import blobs
from fundushub.store.models import Image

log = logging.getLogger(__name__)

# Checks look at a working copy this size: their cost per image is bounded whatever the camera.
WORKING_SIZE = 1024


def load_subject(image: Image) -> Subject:
    with blobs.open_blob(image.original_key) as f, PILImage.open(f) as im:
        # The upright width: a photo stored sideways (EXIF orientation 5-8) is turned below.
        sideways = im.getexif().get(0x0112) in (5, 6, 7, 8)
        full_width = im.size[1] if sideways else im.size[0]
        im.draft("RGB", (WORKING_SIZE, WORKING_SIZE))  # JPEG: decode at reduced scale
        im = ImageOps.exif_transpose(im) if im.getexif() else im
        im = im.convert("RGB")
        im.thumbnail((WORKING_SIZE, WORKING_SIZE), PILImage.Resampling.BILINEAR)
        rgb = np.asarray(im)
    return Subject(image=image, rgb=rgb, scale=rgb.shape[1] / max(1, full_width))


def run_checks(image: Image, names=None, budget: float | None = None) -> dict[str, ImageCheck]:
    """Run the named checks (all by default) and store their results; returns them by name.

    Once budget seconds (FUNDUSHUB_CHECKS_SECONDS) have gone on this image, the checks not yet
    begun are recorded as not run, with the reason: a slow image never holds the queue for long.
    """
    names = list(names or CHECKS)
    budget = settings.FUNDUSHUB_CHECKS_SECONDS if budget is None else budget
    began = time.monotonic()
    try:
        subject = load_subject(image)
    except Exception as e:  # gone or unreadable bytes: every check says so, none is left open
        log.warning("Image %s could not be read for its checks: %s", image.pk, e)
        reason = f"The image could not be read: {failure_reason(e)}"
        return {name: _error(CHECKS[name], image, reason) for name in names}
    results = {}
    for name in names:
        spent = time.monotonic() - began
        if results and spent > budget:
            reason = f"Not run: this image's checks took over {budget:g} s ({spent:.1f} s)"
            results[name] = _error(CHECKS[name], image, reason, skipped=True)
        else:
            results[name] = _run_one(CHECKS[name], subject)
    return results


def _error(check, image: Image, reason: str, skipped: bool = False) -> ImageCheck:
    fields = {"verdict": Verdict.ERROR, "reason": reason[:300], "flagged": False, "twin_id": None}
    fields["values"] = {"skipped": True} if skipped else {}
    return _keep(check, image, fields, 0)


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
    return _keep(check, subject.image, fields, int((time.perf_counter() - started) * 1000))


def _keep(check, image: Image, fields: dict, milliseconds: int) -> ImageCheck:
    fields.update(
        version=check.version,
        milliseconds=milliseconds,
        ran_at=timezone.now(),
        reviewed_by=None,
        reviewed_at=None,
    )
    row, _ = ImageCheck.objects.update_or_create(image=image, name=check.name, defaults=fields)
    return row
