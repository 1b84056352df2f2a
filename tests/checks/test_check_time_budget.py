"""The checks of one image are bounded in time, and end even when the image cannot be read."""

import pytest

from fundushub.checks.models import ImageCheck
from fundushub.checks.runner import run_checks
from fundushub.store import blobs
from tests.checks.fakes import fake_checks  # noqa: F401
from tests.conftest import store_image

pytestmark = pytest.mark.usefixtures("fake_checks")


def test_it_runs_every_check_within_the_budget(world):
    results = run_checks(store_image(world, 1, original_filename="blurred.jpg"))
    assert {name: row.verdict for name, row in results.items()} == {
        "sharpness": "ungradable",
        "eye": "pass",
    }
    assert results["sharpness"].reason == "looks blurred"
    assert results["sharpness"].version == 2
    assert results["sharpness"].flagged


def test_it_records_the_checks_left_once_the_image_s_budget_is_spent(world):
    results = run_checks(store_image(world, 2), budget=0)
    assert results["sharpness"].verdict == "good"  # the first always runs
    skipped = results["eye"]
    assert skipped.verdict == "error"
    assert skipped.reason.startswith("Not run: this image's checks took over 0 s (")
    assert skipped.values == {"skipped": True}
    assert skipped.version == 1


def test_the_budget_comes_from_the_settings(world, settings):
    settings.FUNDUSHUB_CHECKS_SECONDS = 0
    assert run_checks(store_image(world, 3))["eye"].verdict == "error"


def test_an_image_whose_bytes_are_gone_ends_every_check_as_an_error(world):
    image = store_image(world, 4)
    blobs.delete(image.original_key)
    results = run_checks(image)
    assert {row.verdict for row in results.values()} == {"error"}
    assert results["eye"].reason.startswith("The image could not be read: ")
    assert ImageCheck.objects.filter(image=image).count() == 2
