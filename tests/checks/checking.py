"""Helpers for the real checks' tests: a synthetic picture as the checks see it."""

from types import SimpleNamespace

from fundushub.checks import synthetic
from fundushub.checks.registry import Subject


def subject_of(image, declared=None, quality=90) -> Subject:
    """What a check sees of this PIL picture once stored as a JPEG (the runner's working copy);
    declared: the eye the image row says ("left", "right", "both") or None."""
    area = SimpleNamespace(code=declared) if declared else None
    row = SimpleNamespace(pk=1, area=area, area_id=1 if declared else None)
    return Subject(row, synthetic.working_copy(image, quality), 1.0)
