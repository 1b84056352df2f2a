"""Tiny stand-in checks, so the pipeline's tests need neither the real checks nor their cost.

`fake_checks` replaces the registry for one test with two checks: "sharpness" calls an image
whose file name starts with "blurred" ungradable ("looks blurred"), and "eye" passes everything.
Import the fixture into a test module to use it.
"""

import pytest

from fundushub.checks.registry import CHECKS, Check, Result


def sharpness(subject) -> Result:
    if subject.image.original_filename.startswith("blurred"):
        return Result("ungradable", "looks blurred", flagged=True, values={"sharpness": 0.1})
    return Result("good", values={"sharpness": 0.9, "height": int(subject.rgb.shape[0])})


def eye(subject) -> Result:
    return Result("pass")


FAKES = {
    "sharpness": Check("sharpness", 2, "sharpness", sharpness),
    "eye": Check("eye", 1, "eye", eye),
}


@pytest.fixture
def fake_checks(settings):
    """The registry holds only the fakes (restored afterwards); checks are on."""
    settings.FUNDUSHUB_CHECKS = True
    saved = dict(CHECKS)
    CHECKS.clear()
    CHECKS.update(FAKES)
    yield CHECKS
    CHECKS.clear()
    CHECKS.update(saved)
