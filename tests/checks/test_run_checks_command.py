"""fundushub manage run_checks: back-fills the images that have no result, and only what is asked."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from fundushub.checks.models import ImageCheck
from fundushub.checks.registry import CHECKS
from fundushub.store.models import Image
from tests.checks.fakes import fake_checks  # noqa: F401
from tests.conftest import store_image

pytestmark = pytest.mark.usefixtures("fake_checks")


def run(*args) -> str:
    out = io.StringIO()
    call_command("run_checks", *args, stdout=out)
    return out.getvalue()


def results(image) -> dict:
    return {row.name: row for row in ImageCheck.objects.filter(image=image)}


def stored(image, name, version=1, verdict="pass"):
    return ImageCheck.objects.create(image=image, name=name, version=version, verdict=verdict)


def test_it_checks_every_image_that_has_no_result(world):
    sharp, blurred = store_image(world, 1), store_image(world, 2, original_filename="blurred.jpg")
    out = run()
    assert "2 image(s) to check with sharpness, eye." in out
    assert "Done: 2 of 2 image(s) checked, 4 check(s) run, 1 flagged, 0 error(s)." in out
    assert results(sharp)["sharpness"].verdict == "good"
    assert results(blurred)["sharpness"].reason == "looks blurred"
    assert set(results(blurred)) == {"sharpness", "eye"}


def test_it_leaves_images_already_checked_alone(world):
    image = store_image(world, 3)
    kept = [stored(image, "sharpness", version=2), stored(image, "eye")]
    assert run() == "Nothing to check: every image has a result from sharpness, eye.\n"
    assert [r.ran_at for r in results(image).values()] == [r.ran_at for r in kept[::-1]]


def test_it_runs_only_the_check_an_image_misses(world):
    image = store_image(world, 4)
    eye = stored(image, "eye", verdict="flag")
    assert "1 of 1 image(s) checked, 1 check(s) run" in run()
    assert results(image)["eye"].ran_at == eye.ran_at
    assert results(image)["eye"].verdict == "flag"
    assert results(image)["sharpness"].verdict == "good"


def test_it_runs_again_a_check_that_ended_in_an_error(world):
    image = store_image(world, 5)
    stored(image, "sharpness", version=2, verdict="error")
    stored(image, "eye")
    run()
    assert results(image)["sharpness"].verdict == "good"


def test_a_new_check_version_reruns_only_where_asked(world):
    image = store_image(world, 6)
    stored(image, "sharpness", version=1, verdict="usable")  # the check is at version 2 now
    stored(image, "eye")
    assert run().startswith("Nothing to check")
    assert results(image)["sharpness"].version == 1
    run("--check", "sharpness")
    assert (results(image)["sharpness"].version, results(image)["sharpness"].verdict) == (2, "good")


def test_a_named_check_runs_alone(world):
    image = store_image(world, 7)
    out = run("--check", "eye")
    assert "1 image(s) to check with eye." in out
    assert set(results(image)) == {"eye"}


def test_again_reruns_every_image_whatever_its_results(world):
    image = store_image(world, 8)
    stored(image, "sharpness", version=2, verdict="usable")
    stored(image, "eye")
    assert "1 of 1 image(s) checked, 2 check(s) run" in run("--again")
    assert results(image)["sharpness"].verdict == "good"


def test_since_takes_only_the_images_stored_from_that_day(world):
    old, new = store_image(world, 9), store_image(world, 10)
    Image.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert "1 image(s) to check" in run("--since", yesterday)
    assert results(old) == {}
    assert set(results(new)) == {"sharpness", "eye"}


def test_it_refuses_an_unknown_check_naming_the_ones_there_are(world):
    with pytest.raises(
        CommandError, match=r"Unknown check 'blur'; the checks are: sharpness, eye\."
    ):
        run("--check", "blur")


@pytest.mark.parametrize("bad", ["31/01/2026", "2026-02-30", "yesterday"])
def test_it_refuses_a_date_it_cannot_read(world, bad):
    with pytest.raises(CommandError, match=r"is not a date; write it as YYYY-MM-DD"):
        run("--since", bad)


def test_it_says_so_when_no_check_is_installed(world):
    CHECKS.clear()  # the fixture puts them back
    with pytest.raises(CommandError, match="No checks are installed"):
        run()


def test_one_image_that_fails_stops_no_other(world, monkeypatch):
    from fundushub.checks.management.commands import run_checks as command

    first, second = store_image(world, 11), store_image(world, 12)
    real = command.run_checks

    def flaky(image, names):
        if image.pk == first.pk:
            raise OSError("disk went away")
        return real(image, names)

    monkeypatch.setattr(command, "run_checks", flaky)
    out = run()
    assert f"Image {first.pk} (fundus-11.jpg): OSError: disk went away" in out
    assert (
        "2 of 2 image(s) checked, 2 check(s) run, 0 flagged, 0 error(s), 1 image(s) failed" in out
    )
    assert set(results(second)) == {"sharpness", "eye"}


def test_it_goes_through_more_images_than_one_batch(world, monkeypatch):
    from fundushub.checks import backfill

    monkeypatch.setattr(backfill, "BATCH", 2)
    images = [store_image(world, 20 + n) for n in range(5)]
    assert "Done: 5 of 5 image(s) checked, 10 check(s) run" in run()
    assert all(len(results(image)) == 2 for image in images)


def test_a_terminal_sees_a_progress_bar(world, monkeypatch):
    store_image(world, 30)
    out = io.StringIO()
    out.isatty = lambda: True
    call_command("run_checks", stdout=out)
    assert "\r\x1b[K[" in out.getvalue()  # the bar, redrawn in place
    assert "Done: 1 of 1 image(s) checked" in out.getvalue()


def test_the_help_explains_each_option(capsys):
    with pytest.raises(SystemExit):
        call_command("run_checks", "--help")
    text = capsys.readouterr().out
    for words in ("--since DATE", "--check NAME", "--again", "older version", "YYYY-MM-DD"):
        assert words in text
