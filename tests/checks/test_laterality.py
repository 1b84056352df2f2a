"""Laterality on synthetic pictures: the optic disc's side predicts the eye (right of centre in a
right eye); a mirrored picture — the eye mislabelled — is flagged when the prediction is sure, and
nothing is flagged without a declared eye or with the disc at the centre."""

import statistics
import time

import numpy as np
import pytest
from PIL import Image as PILImage

from fundushub.checks import laterality, synthetic
from fundushub.checks.field import find_field
from fundushub.checks.models import ImageCheck
from fundushub.checks.runner import run_checks
from tests.checks.checking import subject_of
from tests.conftest import store_image

SIZES = [(640, 480), (1024, 768), (2048, 1536)]


def check(image, declared):
    return laterality.check(subject_of(image, declared))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("eye", ["right", "left"])
def test_it_passes_a_correctly_labelled_eye(size, eye):
    result = check(synthetic.fundus(21, eye, size), declared=eye)
    assert (result.verdict, result.reason, result.flagged) == ("pass", "", False)
    assert result.values["predicted"] == eye
    assert result.values["confidence"] >= 0.9


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("eye", ["right", "left"])
def test_it_flags_a_mirrored_picture_labelled_as_the_eye_it_was(size, eye):
    picture = synthetic.picture(22, eye, size, flip=True)  # now looks like the other eye
    result = check(picture.image, declared=eye)
    assert (result.verdict, result.flagged) == ("flag", True)
    side = picture.eye
    assert result.reason == (
        f"eye may be mislabelled: the optic disc is on the {side}, as in a {side} eye"
    )


def test_it_finds_the_disc_where_it_is_drawn():
    picture = synthetic.picture(23, "left", (1600, 1200))
    result = check(picture.image, declared="left")
    scale = 1024 / 1600  # the working copy's
    assert result.values["disc_x"] == pytest.approx(picture.disc[0] * scale, abs=12)
    assert result.values["disc_y"] == pytest.approx(picture.disc[1] * scale, abs=12)
    assert result.values["disc_dx"] < -0.5


def test_it_keeps_its_prediction_without_a_declared_eye_and_flags_nothing():
    result = check(synthetic.fundus(24, "right", (1024, 768), flip=True), declared=None)
    assert (result.verdict, result.flagged) == ("pass", False)
    assert result.values["predicted"] == "left"
    assert result.values["declared"] == ""


def test_it_flags_nothing_for_an_image_of_both_eyes():
    result = check(synthetic.fundus(24, "right", (1024, 768)), declared="both")
    assert (result.verdict, result.values["declared"]) == ("pass", "")


@pytest.mark.parametrize("eye", ["right", "left"])
def test_it_is_unsure_of_a_disc_centred_picture_and_flags_nothing(eye):
    other = "left" if eye == "right" else "right"
    result = check(synthetic.fundus(25, eye, (1024, 768), centre="disc"), declared=other)
    assert (result.verdict, result.flagged) == ("pass", False)
    assert result.values["predicted"] == "unsure"
    assert result.values["confidence"] == 0


def test_it_still_flags_a_mirrored_picture_that_is_blurred():
    result = check(synthetic.fundus(26, "left", (1600, 1200), blur=8, flip=True), declared="left")
    assert result.verdict == "flag"


def test_it_is_not_fooled_into_a_flag_by_glare():
    # A white patch is no disc: glare never makes a correctly labelled eye look mislabelled.
    flags = [
        check(synthetic.fundus(seed, eye, (1024, 768), glare=glare), declared=eye).verdict
        for seed in range(4)
        for eye in ("right", "left")
        for glare in (0.02, 0.2)
    ]
    assert flags.count("flag") == 0


def test_it_does_not_flag_when_the_disc_hardly_stands_out():
    result = check(
        synthetic.fundus(27, "right", (1024, 768), contrast=0.25, flip=True), declared="right"
    )
    assert result.values["confidence"] < laterality.CONFIDENT
    assert result.verdict == "pass"


def test_it_passes_a_picture_with_no_fundus():
    result = check(PILImage.new("RGB", (800, 600)), declared="left")
    assert result.verdict == "pass"
    assert result.values == {"predicted": "unsure", "confidence": 0.0, "declared": "left"}


def test_it_is_unsure_when_too_little_of_the_field_is_lit():
    field = find_field(subject_of(synthetic.fundus(28, size=(1024, 768))).rgb)
    field.inner[:] = False
    assert laterality.predict(field) == {"predicted": "unsure", "confidence": 0.0}


def test_a_stored_image_without_an_area_is_not_flagged():
    subject = subject_of(synthetic.fundus(29, "right", (640, 480), flip=True))
    subject.image.area, subject.image.area_id = None, None
    assert laterality.check(subject).verdict == "pass"


def test_it_takes_well_under_100_ms_per_picture_at_1024_px():
    subjects = [subject_of(synthetic.fundus(n, size=(1024, 768)), "right") for n in range(5)]
    laps = []
    for subject in subjects:
        started = time.process_time()
        laterality.check(subject)
        laps.append(time.process_time() - started)
    assert statistics.median(laps) < 0.1


def test_the_field_of_view_is_found_once_for_both_checks():
    from fundushub.checks import gradability

    subject = subject_of(synthetic.fundus(30, size=(640, 480)), "right")
    gradability.check(subject)
    found = subject._field
    laterality.check(subject)
    assert subject._field is found


def test_run_checks_flags_a_mirrored_stored_image(world):
    data = synthetic.jpeg(synthetic.fundus(31, "left", (1600, 1200), flip=True))
    image = store_image(world, data=data, area=world.left)
    run_checks(image, ["laterality"])
    stored = ImageCheck.objects.get(image=image, name="laterality")
    assert (stored.verdict, stored.flagged, stored.version) == ("flag", True, 1)
    assert (
        stored.reason == "eye may be mislabelled: the optic disc is on the right, as in a right eye"
    )
    assert stored.values["predicted"] == "right"
    assert stored.values["declared"] == "left"


def test_run_checks_passes_a_correctly_labelled_stored_image(world):
    data = synthetic.jpeg(synthetic.fundus(32, "right", (1024, 768)))
    image = store_image(world, data=data, area=world.right)
    run_checks(image, ["laterality"])
    stored = ImageCheck.objects.get(image=image, name="laterality")
    assert (stored.verdict, stored.flagged, stored.reason) == ("pass", False, "")
    assert np.isclose(stored.values["confidence"], 1.0)
