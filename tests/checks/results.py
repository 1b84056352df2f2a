"""Check results made by hand, for the pages' tests: the four checks' names in the registry (with
no code behind them) and ImageCheck rows written directly, so no test depends on the real checks.

Import the fixture `four_checks` into a test module to use it.
"""

import pytest

from fundushub.checks.models import ImageCheck
from fundushub.checks.registry import CHECKS, Check, Result

NAMES = ("gradability", "laterality", "near_duplicate", "burned_text")


def _never(subject) -> Result:
    raise AssertionError("the pages' tests write results by hand")


@pytest.fixture
def four_checks(settings):
    """The registry holds the four checks by name (restored afterwards); checks are on."""
    settings.FUNDUSHUB_CHECKS = True
    saved = dict(CHECKS)
    CHECKS.clear()
    CHECKS.update({name: Check(name, 1, name, _never) for name in NAMES})
    yield CHECKS
    CHECKS.clear()
    CHECKS.update(saved)


def add_result(image, name, verdict, reason="", flagged=False, **fields) -> ImageCheck:
    fields.setdefault("version", 1)
    return ImageCheck.objects.create(
        image=image, name=name, verdict=verdict, reason=reason, flagged=flagged, **fields
    )


def all_clear(image) -> None:
    """Every check ran and found nothing."""
    add_result(image, "gradability", "good", values={"sharpness": 0.9, "brightness": 90.0})
    add_result(image, "laterality", "pass")
    add_result(image, "near_duplicate", "pass")
    add_result(image, "burned_text", "pass")


def all_flagged(image, twin) -> None:
    """Every check flags something (the twin: the near-duplicate's earlier image)."""
    add_result(image, "gradability", "ungradable", "looks blurred; too dark", True)
    add_result(
        image, "laterality", "flag", "eye may be mislabelled: the optic disc is on the left", True
    )
    add_result(image, "near_duplicate", "flag", "looks like an earlier image", True, twin=twin)
    add_result(image, "burned_text", "flag", "possible patient data", True)
